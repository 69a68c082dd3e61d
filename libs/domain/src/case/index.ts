import type { Decider } from '../decider';
import type { CaseCommand } from './commands';
import { decideCase } from './decide';
import type { CaseEvent } from './events';
import { evolveCase, foldCase, initialCaseState, type CaseState } from './state';

export const caseDecider: Decider<CaseState, CaseCommand, CaseEvent> = {
  decide: decideCase,
  evolve: evolveCase,
  evolveAll: foldCase,
  initialState: initialCaseState,
};

export * from './commands';
export * from './events';
export * from './follow-ups';
export * from './state';
export { decideCase } from './decide';
