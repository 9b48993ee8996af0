// Child process: opens/migrates the database given as argv[2] once every sibling is ready.
import { migrate } from '../../../src/db/migrate';
import { finish, ready } from '../child-runtime';

finish(ready().then(() => migrate(process.argv[2])));
