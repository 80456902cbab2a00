/** Text generation over causal language models: generate, stream, chat and chat sessions. */
export { generate, stream } from './generate.js';
export { chat, createChatSession, renderChat, type ChatSession } from './chat.js';
export type {
  CausalLM,
  CausalLMCache,
  ChatMessage,
  ChatOptions,
  ChatResult,
  ChatSessionOptions,
  FinishReason,
  GenerateOptions,
  GenerateResult,
  GenerationEvent,
  GenerationTimings,
  SendOptions,
  StreamResult,
} from './types.js';
