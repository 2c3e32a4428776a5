/**
 * Preloaded (`node --import`) into every function process the stand-in
 * starts: the supervisor holds the other end of this process's stdin, so
 * when the supervisor dies, however it dies, stdin ends and this process
 * exits instead of living on as an orphan.
 */
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
// Reading stdin must not by itself keep the process alive.
(process.stdin as unknown as { unref?: () => void }).unref?.();
