import { ProgressBar } from './progress-bar';

describe('progress bar', () => {
  const clock = (times: number[]) => () => times.shift() as number;

  it('shows done, total, percentage, rate and time left', () => {
    // Started at 0 ms; 250,000 of 1,000,000 events after 2 s: 125,000/s, 6 s to go.
    const bar = new ProgressBar({ write: () => undefined }, 'verify', 1_000_000, { now: clock([0, 2000]), width: 10 });
    expect(bar.render(250_000)).toBe('verify [###-------]   25.0%  250,000/1,000,000 events  125,000 events/s  ETA 0:06');
  });

  it('knows no time left before anything is done', () => {
    const bar = new ProgressBar({ write: () => undefined }, 'verify', 10, { now: clock([0, 0]), width: 4 });
    expect(bar.render(0)).toBe('verify [----]    0.0%  0/10 events  0 events/s  ETA --:--');
  });

  it('redraws in place on a terminal, no more often than asked, and ends the line when finished', () => {
    const written: string[] = [];
    let now = 0;
    const bar = new ProgressBar({ write: (text) => written.push(text), isTTY: true }, 'v', 100, { now: () => now, intervalMs: 100, width: 2 });
    bar.update(10); // drawn (the first)
    now = 50;
    bar.update(20); // 50 ms later: skipped
    now = 200;
    bar.update(50); // drawn
    now = 300;
    bar.finish(100);
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(/^\r.*10\/100 events.*\x1b\[K$/);
    expect(written[2]).toMatch(/^\r.*100\/100 events.*\x1b\[K\n$/);
  });

  it('finishes at the total the walk found where the first was an estimate', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ write: (text) => written.push(text), isTTY: false }, 'rebuild', 1_001, { now: clock([0, 1000]), width: 4 });
    bar.finish(1_000, 1_000);
    expect(written).toEqual(['rebuild [####]  100.0%  1,000/1,000 events  1,000 events/s  ETA 0:00\n']);
  });

  it('writes whole lines when stderr is not a terminal', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ write: (text) => written.push(text), isTTY: false }, 'v', 4, { now: clock([0, 0, 0, 1000, 1000]) });
    bar.update(1);
    bar.finish(4);
    expect(written.every((line) => line.endsWith('\n') && !line.includes('\r'))).toBe(true);
  });
});
