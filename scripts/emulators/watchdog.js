#!/usr/bin/env node
// Tiny supervisor used by servers.js so emulators never outlive the process that started them.
//
//   node watchdog.js <ownerPid> <command> [args...]
//
// servers.js spawns this with detached:true (new process group whose leader is this watchdog) and a
// stdin pipe. The watchdog spawns <command> in the same process group and kills it when:
//   - its stdin reaches EOF (the owner died or closed the pipe: immediate, works even on SIGKILL),
//   - the owner pid disappears (polled every 500 ms, belt and braces),
//   - it receives SIGTERM/SIGINT/SIGHUP (e.g. stop() sends SIGTERM to the whole group).
// The child gets SIGTERM, then SIGKILL after 3 s. The watchdog exits with the child's exit code.
'use strict';

const { spawn } = require('child_process');

const [ownerArg, cmd, ...args] = process.argv.slice(2);
const ownerPid = Number(ownerArg);
if (!ownerPid || !cmd) {
  process.stderr.write('usage: watchdog.js <ownerPid> <command> [args...]\n');
  process.exit(2);
}

const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;

function stop(reason) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[watchdog] stopping ${cmd} (pid ${child.pid}): ${reason}\n`);
  try { child.kill('SIGTERM'); } catch { /* gone */ }
  setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } process.exit(1); }, 3000).unref();
}

child.on('error', (e) => { process.stderr.write(`[watchdog] failed to start ${cmd}: ${e.message}\n`); process.exit(127); });
child.on('exit', (code, signal) => {
  if (!stopping) process.stderr.write(`[watchdog] ${cmd} exited (code ${code}, signal ${signal})\n`);
  process.exit(code == null ? 1 : code);
});

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => stop(sig));

process.stdin.on('data', () => {});
process.stdin.on('end', () => stop('owner closed stdin'));
process.stdin.on('error', () => stop('owner stdin error'));
process.stdin.resume();

setInterval(() => {
  try { process.kill(ownerPid, 0); } catch (e) { if (e.code === 'ESRCH') stop(`owner ${ownerPid} is gone`); }
}, 500);
