// Public entry of the fake LibreChat v0.8.7 upstream used by tests and the demo.
export { createFakeLibreChat, type FakeLibreChat, type FakeLibreChatOptions } from './server.ts';
export { createFakeControl, type AgentInput, type FakeControl, type JobInfo, type LogEntry } from './control.ts';
export { BASE_SCENARIO, DEFAULT_DELTAS, type Ending, type FinalCounts, type LlmCall, type Scenario } from './scenario.ts';
export type { TokenUsageData } from './frames.ts';
export type { JobStatus } from './generation.ts';
export { frameJson, SseReader, type SseFrame } from './sse-reader.ts';
