// The real-UI run's steps, in the order they run (./run.ts). A step is one file: add it here.
import type { Step } from '../ui';
import install from './01-install';
import workbench from './02-workbench';
import addServer from './03-add-server';
import signIn from './04-sign-in';
import deviceCode from './05-device-code';
import mcpServers from './06-mcp-servers';
import lmTools from './07-lm-tools';
import accountsMenu from './08-accounts-menu';
import signOut from './09-sign-out';

export const steps: readonly Step[] = [
  install,
  workbench,
  addServer,
  signIn,
  deviceCode,
  mcpServers,
  lmTools,
  accountsMenu,
  signOut,
];
