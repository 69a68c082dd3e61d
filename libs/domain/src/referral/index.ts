import type { Decider } from '../decider';
import type { ReferralCommand } from './commands';
import { decideReferral } from './decide';
import type { ReferralEvent } from './events';
import { evolveReferral, initialReferralState, type ReferralState } from './state';

export const referralDecider: Decider<ReferralState, ReferralCommand, ReferralEvent> = {
  decide: decideReferral,
  evolve: evolveReferral,
  initialState: initialReferralState,
};

export * from './commands';
export * from './events';
export * from './state';
export { decideReferral } from './decide';
