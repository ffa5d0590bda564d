// What the numbers were measured on, and CPU / memory of a process from /proc (as pidusage does,
// without the dependency).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14, 15 of stat)
}

/** Resident set size in bytes. */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Busy and total jiffies of the whole machine, to report how loaded it was (others share it). */
function machineTicks() {
  const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
  const values = cpu.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Measures a window: CPU of the process as a percentage of one core, and how busy the whole
 * machine was (percentage of all cores).
 */
export function startWindow(pid) {
  const started = process.hrtime.bigint();
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const m0 = machineTicks();
  return () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const m1 = machineTicks();
    return {
      seconds,
      cpuPercent: pid ? ((cpuSeconds(pid) - cpu0) / seconds) * 100 : undefined,
      machineBusyPercent: m1.total > m0.total ? ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 : undefined,
    };
  };
}

/** Soft and hard limits on open files of this process. */
export function fileLimits() {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
  const n = (v) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(soft), hard: n(hard) };
}

export function describeMachine() {
  const cpus = os.cpus();
  let osName = `${os.type()} ${os.release()}`;
  try {
    osName = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* not Linux-like: keep the kernel name */
  }
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    os: `${osName} (kernel ${os.release()})`,
    node: process.version,
  };
}
