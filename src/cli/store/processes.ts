/**
 * Whether no process `pid` runs on this machine: signal 0 checks without sending anything. EPERM means it
 * runs as another user. Anything but a positive pid (0 and -1 name groups of processes) is never "gone".
 */
export function processIsGone(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'ESRCH';
  }
}
