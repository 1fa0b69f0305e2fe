// The stream policy's reading of LibreChat's frames, case by case: which calls are held and which are
// helpers, how MCP tool keys name their server (LibreChat's normalisation, prefixes), the resume `sync`
// frame, and the OpenAI-compatible chunks. Over real HTTP: test/stream-policy.test.ts.
import { describe, expect, it } from 'vitest';
import { createStreamPolicy } from './stream-policy.ts';

const usage = (model: string, usageType?: string) =>
  JSON.stringify({ event: 'on_token_usage', data: { input_tokens: 1, output_tokens: 1, model, provider: 'openAI', ...(usageType ? { usage_type: usageType } : {}), runId: 'r', seq: 1 } });
const toolStep = (...names: string[]) =>
  JSON.stringify({ event: 'on_run_step', data: { id: 's', type: 'tool_calls', stepDetails: { type: 'tool_calls', tool_calls: names.map((name) => ({ id: 'c', name, args: '', type: 'tool_call' })) } } });

describe('calls', () => {
  const policy = createStreamPolicy({ enabledModels: ['gpt-4o', 'claude-*'], enabledMcps: [], admittedByAgentId: false });

  it('holds primary, subagent and sequential calls to enabled_models, with its prefixes', () => {
    expect(policy.inspect(usage('gpt-4o'))).toBeUndefined();
    expect(policy.inspect(usage('claude-3-opus', 'subagent'))).toBeUndefined();
    expect(policy.inspect(usage('o1-pro'))).toEqual({ code: 'model_not_enabled', model: 'o1-pro', provider: 'openAI', usageType: null });
    expect(policy.inspect(usage('gpt-4o-mini', 'sequential'))).toMatchObject({ code: 'model_not_enabled', usageType: 'sequential' });
  });

  it('never holds LibreChat\'s helper calls', () => {
    for (const type of ['summarization', 'activity-label', 'activity-phase', 'reasoning-label']) expect(policy.inspect(usage('o1-pro', type))).toBeUndefined();
  });

  it('holds no model in a chat admitted by an enabled agent id', () => {
    const byAgent = createStreamPolicy({ enabledModels: ['agent_x'], enabledMcps: [], admittedByAgentId: true });
    expect(byAgent.inspect(usage('o1-pro'))).toBeUndefined();
    expect(byAgent.inspect(toolStep('web_search'))).toMatchObject({ code: 'mcp_not_enabled', tool: 'web_search' });
  });

  it('reads the calls and steps of a resume sync frame', () => {
    const sync = JSON.stringify({ sync: true, resumeState: { collectedUsage: [{ model: 'gpt-4o' }, { model: 'o1-pro', provider: 'openAI' }], runSteps: [] } });
    expect(policy.inspect(sync)).toMatchObject({ code: 'model_not_enabled', model: 'o1-pro' });
  });

  it('ignores text that only mentions the frame names', () => {
    const delta = JSON.stringify({ event: 'on_message_delta', data: { delta: { content: [{ type: 'text', text: '"on_token_usage" "tool_calls"' }] } } });
    expect(policy.inspect(delta)).toBeUndefined();
  });
});

describe('tools', () => {
  const policy = createStreamPolicy({ enabledModels: [], enabledMcps: ['github', 'Team Drive', 'corp-*', 'file_search'], admittedByAgentId: false });

  it('names the server of an MCP tool key, as written or as LibreChat normalises it', () => {
    expect(policy.inspect(toolStep('create_issue_mcp_github'))).toBeUndefined();
    expect(policy.inspect(toolStep('list_mcp_Team_Drive'))).toBeUndefined();
    expect(policy.inspect(toolStep('query_mcp_corp-wiki'))).toBeUndefined();
    expect(policy.inspect(toolStep('create_issue_mcp_github', 'send_mcp_slack'))).toEqual({ code: 'mcp_not_enabled', tool: 'send_mcp_slack', server: 'slack' });
    expect(policy.inspect(toolStep('get_mcp_thing_mcp_gitlab'))).toMatchObject({ server: 'gitlab' });
  });

  it('holds the built-in tools, and no other tool', () => {
    expect(policy.inspect(toolStep('file_search'))).toBeUndefined();
    expect(policy.inspect(toolStep('execute_code'))).toEqual({ code: 'mcp_not_enabled', tool: 'execute_code' });
    expect(policy.inspect(toolStep('dalle', 'get_weather_action_example---com'))).toBeUndefined();
  });

  it('reads tool calls in OpenAI-compatible chunks and responses items, and completed steps', () => {
    const chunk = JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'x_mcp_jira', arguments: '' } }] } }] });
    expect(policy.inspect(chunk)).toMatchObject({ tool: 'x_mcp_jira', server: 'jira' });
    const item = JSON.stringify({ type: 'response.output_item.added', item: { type: 'function_call', name: 'web_search', call_id: 'c' } });
    expect(policy.inspect(item)).toMatchObject({ tool: 'web_search' });
    const completed = JSON.stringify({ event: 'on_run_step_completed', data: { result: { tool_call: { name: 'execute_code' } } } });
    expect(policy.inspect(completed)).toMatchObject({ tool: 'execute_code' });
  });

  it('enables nothing when enabled_mcps is not an array', () => {
    const broken = createStreamPolicy({ enabledModels: [], enabledMcps: { github: true }, admittedByAgentId: false });
    expect(broken.inspect(toolStep('a_mcp_github'))).toMatchObject({ code: 'mcp_not_enabled' });
  });
});
