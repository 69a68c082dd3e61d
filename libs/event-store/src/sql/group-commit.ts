import type { PreparedEvent } from '../append-validation';

/**
 * Group commit: single-event appends onto existing stream heads that arrive while the database is
 * busy with earlier ones go to it together, as one statement and one transaction (one commit, one
 * WAL flush), instead of one transaction each.
 *
 * Why it is safe to share a transaction: each member is one event onto one stream, so it is still
 * all-or-nothing on its own; the transaction commits all members or none, and a member the group
 * could not apply (its head did not move: a new stream, a version that no longer holds) or every
 * member of a group whose statement failed goes through the single append path afterwards, which
 * tells every outcome apart exactly as it always has. Appends are idempotent by event id, so
 * re-running a member of a group whose reply was lost answers the original result.
 *
 * Why a group holds each stream at most once, and groups under way never share one: a stream's
 * head moves by exactly one event per member (an UPDATE … FROM touches each row once), and a
 * group skips a head another transaction holds (see APPEND_GROUP_ONTO_HEADS), which would make a
 * second group of this process on the same stream send that member alone for nothing.
 */
export interface HeadAppend {
  streamId: string;
  /** The version the head must be at, or null for any existing head. */
  expected: number | null;
  event: PreparedEvent;
}

/** What the database answers for a member that it appended. */
export interface GroupRow {
  stream_id: string;
  stream_version: string;
  last_position: string;
  last_transaction: string;
}

/** Sends one group; answers a row for each member appended (members not appended have none). */
export type SendGroup = (members: HeadAppend[]) => Promise<GroupRow[]>;

interface Waiting {
  member: HeadAppend;
  settle(row: GroupRow | undefined): void;
}

export class AppendGroups {
  private waiting: Waiting[] = [];
  /** Streams of the waiting members and of the groups under way. */
  private readonly busyStreams = new Set<string>();
  private underWay = 0;
  /** Groups sent, and those whose statement failed (each member then went alone). */
  readonly counts = { groups: 0, failed: 0 };

  /**
   * @param maxUnderWay groups sent and not yet answered; more arrivals wait and go as one group.
   *   An append that finds fewer under way goes at once, so a lone writer never waits.
   * @param maxMembers the most members one statement carries.
   */
  constructor(
    private readonly send: SendGroup,
    private readonly maxUnderWay: number,
    private readonly maxMembers = 256,
  ) {}

  /**
   * The appended row, or undefined when the group did not append this member (the caller takes
   * the single append path); 'alone' when its stream is already in a group waiting or under way.
   */
  append(member: HeadAppend): Promise<GroupRow | undefined> | 'alone' {
    if (this.busyStreams.has(member.streamId)) return 'alone';
    this.busyStreams.add(member.streamId);
    const answer = new Promise<GroupRow | undefined>((resolve) => this.waiting.push({ member, settle: resolve }));
    this.sendWhileRoom();
    return answer;
  }

  private sendWhileRoom(): void {
    while (this.waiting.length > 0 && this.underWay < this.maxUnderWay) {
      const group = this.waiting.splice(0, this.maxMembers);
      this.underWay++;
      this.counts.groups++;
      const members = group.map((waiting) => waiting.member);
      const answered = (rows: GroupRow[] | undefined): void => {
        // The streams are free before any member hears back: a writer's next append onto the same
        // stream then joins a group instead of going alone.
        for (const waiting of group) this.busyStreams.delete(waiting.member.streamId);
        this.underWay--;
        const byStream = new Map((rows ?? []).map((row) => [row.stream_id, row]));
        for (const waiting of group) waiting.settle(byStream.get(waiting.member.streamId));
        this.sendWhileRoom();
      };
      // A failed group answers no rows: every member is then tried alone, which reports its own
      // outcome or error. Called from a resolved promise, so that even a send that throws at once
      // fails the group rather than leaving its members waiting.
      Promise.resolve()
        .then(() => this.send(members))
        .then(answered, () => {
          this.counts.failed++;
          answered(undefined);
        });
    }
  }
}
