/**
 * CPU time and resident memory of the processes a bench runs, read from /proc (Linux): a probe per
 * process (or group of processes, for PostgreSQL), sampled every second, and windows that say how
 * much CPU each used and how high its memory went between their start and end.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** One reading: CPU used since the process started (user + system), and its resident set now. */
export interface Sample {
  cpuUs: number;
  rssMb: number;
}

/** Reads a process (or a group) now; undefined once it is gone. */
export type Probe = () => Promise<Sample | undefined>;

/** What one process used over a window. */
export interface Usage {
  cpu_us: number;
  rss_mb_max: number;
}

/** How often the meter samples: VmRSS peaks shorter than this can be missed. */
const SAMPLE_MS = 1_000;

const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** `/proc/<pid>/stat` after the command name (which may hold spaces): field 3 onwards, 0-based from there. */
async function statFields(pid: number): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime, stime (and with `children` the waited-for children's cutime, cstime) in microseconds. */
async function cpuUs(pid: number, children = false): Promise<number> {
  const f = await statFields(pid);
  // Fields 14-17 of stat(5) are utime, stime, cutime, cstime; here 0-based from field 3.
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1_000_000) / TICKS_PER_S;
}

async function memoryKb(pid: number): Promise<{ rss: number; shmem: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS'), shmem: kb('RssShmem') };
}

const gone = (e: unknown) =>
  (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH';

/** VmRSS of a process, in MB. */
export async function rssMb(pid: number): Promise<number> {
  return Math.round((await memoryKb(pid)).rss / 1024);
}

/** One process: its own CPU and VmRSS. */
export function processProbe(pid: number): Probe {
  return async () => {
    try {
      return { cpuUs: await cpuUs(pid), rssMb: (await memoryKb(pid)).rss / 1024 };
    } catch (e) {
      if (gone(e)) return undefined;
      throw e;
    }
  };
}

/**
 * A server and its children, as PostgreSQL runs (a postmaster and a backend per connection): the
 * CPU of the root including its exited children (the postmaster waits for each) plus that of the
 * live children; memory as the sum of their private resident sets plus the largest shared one,
 * since every backend maps the same shared buffers.
 */
export function processGroupProbe(rootPid: number): Probe {
  return async () => {
    try {
      const children = (await readFile(`/proc/${rootPid}/task/${rootPid}/children`, 'utf8'))
        .split(' ')
        .filter((s) => s.trim() !== '')
        .map(Number);
      let cpu = await cpuUs(rootPid, true);
      const root = await memoryKb(rootPid);
      let privateKb = root.rss - root.shmem;
      let sharedKb = root.shmem;
      for (const pid of children) {
        try {
          cpu += await cpuUs(pid);
          const m = await memoryKb(pid);
          privateKb += m.rss - m.shmem;
          sharedKb = Math.max(sharedKb, m.shmem);
        } catch (e) {
          // A backend that ended between the listing and the read: its CPU is in the root's now.
          if (!gone(e)) throw e;
        }
      }
      return { cpuUs: cpu, rssMb: (privateKb + sharedKb) / 1024 };
    } catch (e) {
      if (gone(e)) return undefined;
      throw e;
    }
  };
}

/** The postmaster of an embedded cluster: the first line of `postmaster.pid` in its data directory. */
export async function postmasterPid(dataDir: string): Promise<number> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

/**
 * The RabbitMQ node on this machine (its Erlang VM, `beam.smp`, whose command line names rabbit),
 * when there is one: the broker shares the cores, so its CPU per payment is reported too.
 */
export async function localBrokerPid(): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('beam.smp') && cmdline.includes('rabbit')) return Number(entry);
  }
  return undefined;
}

/** A window over the meter's processes: `end()` says what each used since `open()`. */
export interface Window {
  end(): Promise<Record<string, Usage>>;
}

/** Samples every probe each second while running; windows read CPU at their ends and the peak RSS between. */
export class Meter {
  private readonly open = new Set<{ peaks: Map<string, number> }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly probes: ReadonlyMap<string, Probe>) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async window(): Promise<Window> {
    const first = await this.read();
    const w = { peaks: new Map<string, number>() };
    this.note(w, first);
    this.open.add(w);
    return {
      end: async () => {
        const last = await this.read();
        this.note(w, last);
        this.open.delete(w);
        const usage: Record<string, Usage> = {};
        for (const [name, s] of last) {
          const before = first.get(name);
          if (before === undefined) continue;
          usage[name] = { cpu_us: s.cpuUs - before.cpuUs, rss_mb_max: Math.round(w.peaks.get(name) ?? s.rssMb) };
        }
        return usage;
      },
    };
  }

  private async sample(): Promise<void> {
    const now = await this.read();
    for (const w of this.open) this.note(w, now);
  }

  private note(w: { peaks: Map<string, number> }, samples: Map<string, Sample>): void {
    for (const [name, s] of samples) w.peaks.set(name, Math.max(w.peaks.get(name) ?? 0, s.rssMb));
  }

  private async read(): Promise<Map<string, Sample>> {
    const out = new Map<string, Sample>();
    for (const [name, probe] of this.probes) {
      const s = await probe();
      if (s !== undefined) out.set(name, s);
    }
    return out;
  }
}
