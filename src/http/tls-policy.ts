import type tls from 'node:tls';
import type { TlsSettings } from './web-config.js';

// The TLS part of a web config applied to the server and to each connection (exporter-toolkit's
// web/tls_config.go).

/** Node https options for the TLS part of a web config (HTTP/1.1). */
export function tlsServerOptions(t: TlsSettings): tls.TlsOptions {
  const verify = t.clientAuth === 'VerifyClientCertIfGiven' || t.clientAuth === 'RequireAndVerifyClientCert';
  return {
    cert: t.cert,
    key: t.key,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    honorCipherOrder: t.honorCipherOrder,
    requestCert: t.clientAuth !== 'NoClientCert',
    // Only RequireAndVerify can be left to OpenSSL; the other policies are checked per connection.
    rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert',
    ...(verify && t.clientCa ? { ca: t.clientCa } : {}),
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
    ...(t.ecdhCurve ? { ecdhCurve: t.ecdhCurve } : {}),
    ALPNProtocols: ['http/1.1'],
  };
}

/** Why a TLS connection breaks the client-certificate policy, or null if it is fine. */
export function clientCertProblem(t: TlsSettings, socket: tls.TLSSocket): string | null {
  if (t.clientAuth === 'NoClientCert' || t.clientAuth === 'RequestClientCert') return null;
  const peer = socket.getPeerCertificate();
  const present = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0;
  if (!present) return t.clientAuth === 'VerifyClientCertIfGiven' ? null : 'no client certificate';
  if ((t.clientAuth === 'VerifyClientCertIfGiven' || t.clientAuth === 'RequireAndVerifyClientCert') && !socket.authorized) {
    return `client certificate not trusted (${String(socket.authorizationError)})`;
  }
  if (t.clientAllowedSans) {
    const sans = (peer.subjectaltname ?? '')
      .split(/,\s*/)
      .map((s) => s.replace(/^(DNS|IP Address|email|URI):/, ''))
      .filter(Boolean);
    if (!sans.some((s) => t.clientAllowedSans?.includes(s))) return 'client certificate has none of client_allowed_sans';
  }
  return null;
}
