import { Module } from '@nestjs/common';
import { CasesController } from './cases.controller';
import { ChangeCaseHandler, ChangePersonHandler, ChangeReferralHandler, MakeReferralHandler, OpenCaseHandler } from './command-handlers';
import { PeopleController } from './people.controller';
import { GetCaseHandler, GetPersonHandler, GetReferralHandler } from './query-handlers';
import { ReferralsController } from './referrals.controller';

/** People, cases and referrals: the commands of casework and the records they change. */
@Module({
  controllers: [PeopleController, CasesController, ReferralsController],
  providers: [
    ChangePersonHandler,
    OpenCaseHandler,
    ChangeCaseHandler,
    MakeReferralHandler,
    ChangeReferralHandler,
    GetPersonHandler,
    GetCaseHandler,
    GetReferralHandler,
  ],
})
export class CaseworkModule {}
