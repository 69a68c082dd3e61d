/**
 * Consistency token: the store checkpoint of a command's last event, opaque to clients. A query
 * that carries it answers only once the read side has reached that checkpoint.
 */
export const consistencyToken = (checkpoint: string): string => Buffer.from(`c1:${checkpoint}`).toString('base64url');

export function checkpointOfToken(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) return undefined;
  const text = Buffer.from(token, 'base64url').toString();
  return text.startsWith('c1:') ? text.slice(3) : undefined;
}
