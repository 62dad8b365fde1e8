import { describeFamilyFixture } from './family-fixture.js';

describeFamilyFixture('xlmr-sst2', { architecture: 'XLMRobertaForSequenceClassification', family: 'xlm-roberta' });
