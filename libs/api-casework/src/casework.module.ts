import { Module } from '@nestjs/common';
import { CasesController } from './cases.controller';
import { ChangeCaseHandler, ChangePersonHandler, ChangeReferralHandler, MakeReferralHandler, OpenCaseHandler } from './command-handlers';
import { PeopleController } from './people.controller';
import { GetCaseHandler, GetPersonHandler, GetReferralHandler } from './query-handlers';
import { GetCaseloadHandler, GetOutcomesHandler, GetTimelineHandler, ListReferralsHandler } from './read-handlers';
import { ReadSideController } from './read-side.controller';
import { ReferralsController } from './referrals.controller';

/** People, cases and referrals: the commands of casework and the records they change. */
@Module({
  controllers: [PeopleController, CasesController, ReferralsController, ReadSideController],
  providers: [
    ChangePersonHandler,
    OpenCaseHandler,
    ChangeCaseHandler,
    MakeReferralHandler,
    ChangeReferralHandler,
    GetPersonHandler,
    GetCaseHandler,
    GetReferralHandler,
    GetCaseloadHandler,
    GetTimelineHandler,
    ListReferralsHandler,
    GetOutcomesHandler,
  ],
})
export class CaseworkModule {}
