/** One chat message, as the OpenAI chat-completions API has it (text content only). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: Array<{ token: string; logprob: number }>;
}

/** What a provider is asked: the upstream model name and the sampling parameters. */
export interface ProviderRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  seed?: number;
  logprobs?: boolean;
  topLogprobs?: number;
}

export interface ProviderUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface ProviderResponse {
  text: string;
  finishReason: string;
  /** Absent when the endpoint did not report usage; the executor then estimates it. */
  usage?: ProviderUsage;
  logprobs?: TokenLogprob[];
  latencyMs: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Streams the answer's text as it arrives (the response still carries the whole text). */
  onToken?: (delta: string) => void;
}

/** Anything that answers chat-completion requests: an OpenAI-compatible endpoint or the simulated world. */
export interface ChatProvider {
  readonly name: string;
  complete(req: ProviderRequest, opts?: CallOptions): Promise<ProviderResponse>;
  close?(): Promise<void> | void;
}
