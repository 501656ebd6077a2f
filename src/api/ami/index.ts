// The AMI layer: one client per PBX, typed answers. Collectors import from here.
export { AmiClient, type AmiClientOptions, type AmiState, type AmiStatus, type CoreSource, type QueueSource } from './client.js';
export { ALLOWED_ACTIONS, type AllowedAction } from './actions.js';
export type { AmiReply, AmiTlsOptions } from './connection.js';
export { AmiError, AmiShapeError, type AmiErrorKind } from './errors.js';
export type { Greeting } from './frame.js';
export * from './types.js';
