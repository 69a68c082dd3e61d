import type { Decider } from '../decider';
import type { PersonCommand } from './commands';
import { decidePerson } from './decide';
import type { PersonEvent } from './events';
import { evolvePerson, initialPersonState, type PersonState } from './state';

export const personDecider: Decider<PersonState, PersonCommand, PersonEvent> = {
  decide: decidePerson,
  evolve: evolvePerson,
  initialState: initialPersonState,
};

export * from './commands';
export * from './consent';
export * from './events';
export * from './state';
export { decidePerson } from './decide';
