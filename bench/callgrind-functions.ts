// Where a callgrind run's long-poll work goes, function by function, per answer.
// `npm run bench -- --only=callgrind --callgrind-dir=DIR` keeps each server's
// callgrind files, its perf map and its answer count in DIR/<server>; this reads
// them back:
//   node dist/bench/callgrind-functions.js DIR/evcomet                  one server
//   node dist/bench/callgrind-functions.js DIR/reference DIR/evcomet    the second minus the first
//   ... --by=Ir --top=60        sort by another event (default D1mr), show more rows
// callgrind names V8's compiled JavaScript only by address; the perf map that
// Node writes with --perf-basic-prof gives those addresses their functions.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface Costs { answers: number; events: string[]; byFunction: Map<string, number[]> }

const args = process.argv.slice(2);
const dirs = args.filter((a) => !a.startsWith('--'));
const by = args.find((a) => a.startsWith('--by='))?.slice(5) ?? 'D1mr';
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 40);
if (dirs.length < 1 || dirs.length > 2) {
  console.error('usage: callgrind-functions.js DIR [OTHER_DIR] [--by=D1mr] [--top=40]');
  process.exit(2);
}

const runs = dirs.map(read);
const events = runs[0]!.events;
const at = events.indexOf(by);
if (at < 0) throw new Error(`no event ${by}; the runs have ${events.join(', ')}`);
const shown = ['Ir', 'D1mr', 'I1mr', 'Bcm'].filter((e) => events.includes(e));

if (runs.length === 1) {
  const [run] = runs as [Costs];
  console.log(`per answer (${run.answers} answers), self cost, by ${by}`);
  console.log(`| ${shown.join(' | ')} | function |\n|${'---|'.repeat(shown.length + 1)}`);
  const rows = [...run.byFunction].sort((a, b) => b[1][at]! - a[1][at]!).slice(0, top);
  for (const [name, costs] of rows) console.log(`| ${shown.map((e) => perAnswer(run, costs, e)).join(' | ')} | ${name} |`);
} else {
  const [first, second] = runs as [Costs, Costs];
  console.log(`per answer, self cost: ${dirs[1]} minus ${dirs[0]}, by the difference in ${by}`);
  console.log(`| ${by} first | ${by} second | difference | Ir difference | function |\n|---|---|---|---|---|`);
  const names = new Set([...first.byFunction.keys(), ...second.byFunction.keys()]);
  const of = (run: Costs, name: string, event: string) => (run.byFunction.get(name)?.[events.indexOf(event)] ?? 0) / run.answers;
  const rows = [...names]
    .map((name) => ({ name, a: of(first, name, by), b: of(second, name, by), ir: of(second, name, 'Ir') - of(first, name, 'Ir') }))
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
    .slice(0, top);
  for (const r of rows) console.log(`| ${r.a.toFixed(1)} | ${r.b.toFixed(1)} | ${(r.b - r.a).toFixed(1)} | ${r.ir.toFixed(0)} | ${r.name} |`);
}

function perAnswer(run: Costs, costs: number[], event: string): string {
  return (costs[events.indexOf(event)]! / run.answers).toFixed(event === 'Ir' ? 0 : 1);
}

function read(dir: string): Costs {
  const answers = Number(readFileSync(`${dir}/answers`, 'utf8'));
  const named = jitNames(readFileSync(`${dir}/perf.map`, 'utf8'));
  const byFunction = new Map<string, number[]>();
  let events: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith('callgrind.out'))) {
    // The file callgrind writes as the server exits holds nothing when counting was off by then.
    if (!/^events:/m.test(readFileSync(`${dir}/${file}`, 'utf8'))) continue;
    const text = execFileSync('callgrind_annotate', ['--threshold=100', '--show-percs=no', `${dir}/${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const line of text.split('\n')) {
      if (line.startsWith('Events shown:')) events = line.slice(13).trim().split(/\s+/);
      // A cost line: one column per event ("." for none), then the function.
      const match = /^\s*((?:[\d,]+|\.)(?:\s+(?:[\d,]+|\.))*)\s+([^\s\d.].*)$/.exec(line);
      if (!match || events.length === 0) continue;
      const costs = match[1]!.split(/\s+/).map((c) => (c === '.' ? 0 : Number(c.replaceAll(',', ''))));
      if (costs.length !== events.length || match[2]!.includes('PROGRAM TOTALS')) continue;
      const name = named(match[2]!);
      const sum = byFunction.get(name) ?? events.map(() => 0);
      costs.forEach((c, i) => (sum[i]! += c));
      byFunction.set(name, sum);
    }
  }
  return { answers, events, byFunction };
}

/** Names callgrind's `???:0x…` functions from a perf map; other names are shortened to what stays the same between checkouts. */
function jitNames(perfMap: string): (name: string) => string {
  const code = perfMap.split('\n').filter(Boolean).map((line) => {
    const [start, size, ...name] = line.split(' ');
    return { start: parseInt(start!, 16), end: parseInt(start!, 16) + parseInt(size!, 16), name: name.join(' ') };
  }).sort((a, b) => a.start - b.start);
  return (name) => {
    const address = /^\?\?\?:0x([0-9a-f]+)/.exec(name);
    // C++ names run to hundreds of characters of template arguments.
    if (!address) return name.replace(/^\?\?\?:/, '').replace(/ \[\/\S+\]$/, '').slice(0, 100);
    const pc = parseInt(address[1]!, 16);
    let lo = 0;
    let hi = code.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (code[mid]!.start <= pc) lo = mid;
      else hi = mid - 1;
    }
    const found = code[lo];
    if (!found || pc < found.start || pc >= found.end) return 'JavaScript, unnamed';
    return found.name.replace(/file:\/\/\S*\/dist\//, '');
  };
}
