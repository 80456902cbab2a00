/**
 * Reading config.json: every field a family uses is read through a ConfigReader, which checks its
 * type; fields that do not change the computation (dropouts, training and generation settings,
 * bookkeeping) are known by name; anything else is an error, so a checkpoint whose config asks for
 * something this runtime does not compute is never run as if it had not asked.
 */
import { describe } from '../engine/validate.js';

/**
 * Fields of transformers' PretrainedConfig and of training that do not change an encoder's
 * inference: dropouts, initialisation, generation defaults, labels and names, bookkeeping.
 */
const NO_EFFECT = new Set([
  '_name_or_path', '_commit_hash', '_attn_implementation', '_attn_implementation_autoset', 'transformers_version', 'architectures',
  'model_type', 'torch_dtype', 'dtype', 'use_bfloat16', 'torchscript', 'return_dict', 'output_hidden_states', 'output_attentions',
  'use_cache', 'gradient_checkpointing', 'initializer_range', 'initializer_factor', 'hidden_dropout_prob',
  'attention_probs_dropout_prob', 'classifier_dropout', 'dropout', 'attention_dropout', 'qa_dropout', 'seq_classif_dropout',
  'id2label', 'label2id', 'num_labels', 'problem_type', 'finetuning_task', 'task_specific_params', 'tokenizer_class', 'prefix',
  'bos_token_id', 'eos_token_id', 'pad_token_id', 'sep_token_id', 'decoder_start_token_id', 'chunk_size_feed_forward', 'tf_legacy_loss',
  'max_length', 'min_length', 'do_sample', 'early_stopping', 'num_beams', 'num_beam_groups', 'diversity_penalty', 'temperature',
  'top_k', 'top_p', 'typical_p', 'repetition_penalty', 'length_penalty', 'no_repeat_ngram_size', 'encoder_no_repeat_ngram_size',
  'bad_words_ids', 'num_return_sequences', 'output_scores', 'return_dict_in_generate', 'forced_bos_token_id',
  'forced_eos_token_id', 'remove_invalid_values', 'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens',
  'cross_attention_hidden_size', 'tie_encoder_decoder', 'gradient_checkpointing_kwargs',
]);

export class ConfigReader {
  private readonly read = new Set<string>();

  constructor(
    private readonly config: Record<string, unknown>,
    /** 'config.json of <family>' etc., for messages */
    private readonly place: string,
  ) {}

  has(name: string): boolean {
    return this.config[name] !== undefined && this.config[name] !== null;
  }

  private value(name: string): unknown {
    this.read.add(name);
    return this.config[name];
  }

  int(name: string, fallback?: number, min = 0): number {
    const v = this.value(name) ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new Error(`${this.place}: "${name}" must be an integer ≥ ${min}, found ${describe(this.config[name])}`);
    }
    return v;
  }

  number(name: string, fallback?: number): number {
    const v = this.value(name) ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${this.place}: "${name}" must be a number, found ${describe(this.config[name])}`);
    return v;
  }

  /** A string field that must be one of `supported` (what this runtime computes). */
  oneOf<T extends string>(name: string, supported: readonly T[], fallback?: T): T {
    const v = this.value(name) ?? fallback;
    if (typeof v !== 'string' || !(supported as readonly string[]).includes(v)) {
      throw new Error(`${this.place}: "${name}": ${describe(this.config[name])} is not supported (supported: ${supported.map((s) => `"${s}"`).join(', ')})`);
    }
    return v as T;
  }

  /** A field that changes the computation, accepted only at the value this runtime computes. */
  only(name: string, accepted: (v: unknown) => boolean, what: string): void {
    const v = this.value(name);
    if (v !== undefined && v !== null && !accepted(v)) throw new Error(`${this.place}: "${name}": ${describe(v)} is not supported (only ${what})`);
  }

  /** Fields the family knows and does not need (they do not change the computation). */
  ignore(...names: string[]): void {
    for (const n of names) this.read.add(n);
  }

  /** Fails on any field neither read, ignored nor known to have no effect (`allowed`: the user's own list). */
  finish(allowed: readonly string[]): void {
    const left = Object.keys(this.config).filter((k) => !this.read.has(k) && !NO_EFFECT.has(k) && !allowed.includes(k));
    if (left.length) {
      throw new Error(
        `${this.place}: unknown field${left.length > 1 ? 's' : ''} ${left.map((k) => `"${k}"`).join(', ')}: it may change the computation, which this runtime would not do. ` +
        `If you know ${left.length > 1 ? 'they do' : 'it does'} not, pass { ignoreConfigFields: [${left.map((k) => `'${k}'`).join(', ')}] }`,
      );
    }
  }
}
