import { replay, type Decider } from '../decider';
import { DomainError, type DomainErrorKind } from '../errors';

/**
 * Given/when/then for a decider:
 * `given(opened, closed).when(recordWelfareCheck).thenThrows('case_closed')`.
 */
export function specFor<State, Cmd, Evt>(decider: Decider<State, Cmd, Evt>) {
  return (...history: Evt[]) => ({
    when: (command: Cmd) => {
      const decide = (): Evt[] => decider.decide(command, replay(decider, history));
      return {
        then(expected: Evt[]): void {
          expect(decide()).toEqual(expected);
        },
        /** Asserts the refusal's code, and its kind and field when given. */
        thenThrows(code: string, expected: { kind?: DomainErrorKind; field?: string } = {}): void {
          let events: Evt[];
          try {
            events = decide();
          } catch (error) {
            expect(error).toBeInstanceOf(DomainError);
            const refusal = error as DomainError;
            expect(refusal.code).toBe(code);
            if (expected.kind) expect(refusal.kind).toBe(expected.kind);
            if (expected.field) expect(refusal.field).toBe(expected.field);
            return;
          }
          throw new Error(`expected a refusal with code ${code}, got ${JSON.stringify(events)}`);
        },
      };
    },
  });
}
