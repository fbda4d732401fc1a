/**
 * Both CodeRepo implementations pass the one contract suite (test/helpers/code-contract.ts): the
 * git program (core/code/git-cli.ts) and isomorphic-git (core/code/git-builtin.ts).
 */
import { openCodeRepo } from '../core/code/repo.js';
import { runCodeContract } from './helpers/code-contract.js';

runCodeContract('git program (cli)', (dir) => openCodeRepo(dir, { mode: 'cli' }));
runCodeContract('isomorphic-git (builtin)', (dir) => openCodeRepo(dir, { mode: 'builtin' }));
