import { AmiError } from './errors.js';
import { quoteForError } from './frame.js';

/**
 * Every AMI action this exporter may ever send. AMI checks actions against the user's *write*
 * mask, and some harmful ones need none at all: QueueReset (wipes every queue's statistics) and
 * QueueReload are allowed to any logged-in user (mikopbx-monitoring-sources.md §2.3, §2.5). So
 * the list is enforced here, in code, before anything is written to the socket.
 */
export const ALLOWED_ACTIONS = ['Login', 'Logoff', 'Ping', 'QueueSummary', 'QueueStatus', 'CoreStatus', 'CoreSettings'] as const;
export type AllowedAction = (typeof ALLOWED_ACTIONS)[number];

interface ActionSpec {
  /** The event that closes the action's event list; null for a single response. */
  listComplete: string | null;
  /** What the AMI user needs in its write mask (said when Asterisk answers "Permission denied"). */
  needs: string;
}

const SPECS: Readonly<Record<AllowedAction, ActionSpec>> = {
  Login: { listComplete: null, needs: 'nothing' },
  Logoff: { listComplete: null, needs: 'nothing' },
  Ping: { listComplete: null, needs: 'nothing' },
  QueueSummary: { listComplete: 'QueueSummaryComplete', needs: 'nothing beyond a login' },
  QueueStatus: { listComplete: 'QueueStatusComplete', needs: 'nothing beyond a login' },
  CoreStatus: { listComplete: null, needs: 'write permission "reporting" (or "system")' },
  CoreSettings: { listComplete: null, needs: 'write permission "reporting" (or "system")' },
};

/** The action if it is on the allowlist (exact spelling); an AmiError otherwise. */
export function allowedAction(action: string): AllowedAction {
  if ((ALLOWED_ACTIONS as readonly string[]).includes(action)) return action as AllowedAction;
  throw new AmiError(
    'not-allowed',
    action,
    `refusing to send the AMI action ${quoteForError(action)}: this exporter only ever sends ${ALLOWED_ACTIONS.join(', ')}`,
  );
}

export function actionSpec(action: AllowedAction): ActionSpec {
  return SPECS[action];
}
