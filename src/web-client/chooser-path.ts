// Where a user chooses their workspace (the page, and the API it calls), named once for the routes and the
// refusal sentences that send people there.
export const CHOOSER_PATH = '/_gateway/workspace';
export const WORKSPACES_PATH = '/_gateway/workspaces';
export const WORKSPACE_COOKIE = 'geko_workspace';
