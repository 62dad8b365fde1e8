import { describeFamilyFixture } from './family-fixture.js';

describeFamilyFixture('electra-sst2', { architecture: 'ElectraForSequenceClassification', family: 'electra' });
