// Step 1 of 2 of the decoder-only language-model fixtures (step 2: /usr/bin/python3 tools/lm_fixtures.py).
//
// Same conventions as tools/tokenize_fixtures.mjs (read it first): everything here is tokenized by
// Hugging Face's Rust `tokenizers` through its Node bindings (`@anush008/tokenizers`), chat templates
// are rendered by Hugging Face's own Jinja implementation (`@huggingface/jinja`, a devDependency),
// and nothing is tokenized or rendered by code of ours.
//
//   1. trains ONE byte-level BPE on the CORPUS of tools/tokenize_fixtures.mjs (BpeTrainer defaults,
//      GPT-2 ByteLevel pre-tokenizer), keeps its first BPE_MERGES merges, and builds six tokenizers
//      from those merges, each with the special tokens, pre-tokenizer, post-processor and
//      tokenizer_config.json of the family it stands for:
//
//      llama3   Llama 3 style: Split(Llama 3 regex, digits in runs of 1-3) + ByteLevel(use_regex false);
//               <|begin_of_text|> <|end_of_text|> <|start_header_id|> <|end_header_id|> <|eot_id|>
//               after the BPE vocab; TemplateProcessing "<|begin_of_text|> $A" (add bos);
//               Meta-Llama-3-8B-Instruct's chat template.
//      mistral  Llama 2 / Mistral ids: <unk>=0 <s>=1 </s>=2 first (the real ones are SentencePiece;
//               here byte-level BPE, as asked); TemplateProcessing "<s> $A";
//               Mistral-7B-Instruct-v0.1's chat template ([INST] … [/INST], raise_exception).
//      qwen     Qwen2 style: Split(Qwen2 regex, single digits) + ByteLevel(use_regex false); no
//               post-processor tokens (Qwen adds no bos); <|endoftext|> <|im_start|> <|im_end|> after
//               the BPE vocab; chat template: Qwen2-Instruct's (qwen2 folder) or Qwen3's (qwen3
//               folder, with <think> / enable_thinking / tools; tools/lm/qwen3_chat_template.jinja).
//      gemma    Gemma ids: <pad>=0 <eos>=1 <bos>=2 <unk>=3 first, <start_of_turn> <end_of_turn> after
//               the vocab; TemplateProcessing "<bos> $A"; Gemma 2's chat template (user/model turns).
//      phi3     Phi-3 ids: <unk>=0 <s>=1 </s>=2 first, <|endoftext|> <|assistant|> <|end|> <|user|>
//               <|system|> after the vocab; no bos added; Phi-3-mini-instruct's chat template.
//      gpt2     GPT-2: ByteLevel pre-tokenizer (GPT-2 regex, add_prefix_space false), <|endoftext|>
//               last; no post-processor tokens; GPT2Tokenizer config (bos = eos = unk = <|endoftext|>).
//
//      Every tokenizer has a ByteLevel decoder (set in the JSON: the bindings have no constructor
//      for it; the file is then re-loaded and re-saved by the library).
//
//   2. copies tokenizer.json + tokenizer_config.json into every checkpoint folder
//      test/fixtures/lm/<checkpoint>/ and encodes each checkpoint's prompts (3 prompts, one longer
//      than the Mistral / Gemma sliding window of 8 tokens, one a chat rendered with the template
//      where the family has one; plus a 2-prompt batch, left-padded by the library with the pad
//      token) into test/fixtures/lm/inputs.json, which the Python step reads.
//
// Training is kept as in tools/tokenize_fixtures.mjs: the committed tokenizers are re-loaded (and
// re-saved by the library) unless --retrain is given or one is missing; everything else is
// deterministic.
//
// Regenerate:  node tools/lm_tokenize_fixtures.mjs && /usr/bin/python3 tools/lm_fixtures.py
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { CORPUS } from './tokenize_fixtures.mjs';

const require = createRequire(import.meta.url);
const tk = require('@anush008/tokenizers');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LM = join(ROOT, 'test', 'fixtures', 'lm');
const BPE_MERGES = 160; // learned merges kept (plus the 256 byte symbols and each family's specials)

// Pre-tokenizer regexes, as in the families' tokenizer.json (Split, behavior Isolated, invert false).
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Chat templates in the form the models ship them (tokenizer_config.json "chat_template").
const TEMPLATES = {
  // meta-llama/Meta-Llama-3-8B-Instruct
  llama3: "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
  // mistralai/Mistral-7B-Instruct-v0.1
  mistral: "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
  // Qwen/Qwen2-0.5B-Instruct
  qwen2: "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
  // Qwen3 (thinking switch, tools); text in tools/lm/qwen3_chat_template.jinja
  qwen3: readFileSync(join(ROOT, 'tools', 'lm', 'qwen3_chat_template.jinja'), 'utf8').replace(/\n$/, ''),
  // google/gemma-2-2b-it
  gemma: "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
  // microsoft/Phi-3-mini-4k-instruct
  phi3: "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
};

// Each tokenizer: specials before / after the BPE vocab, pre-tokenizer, bos added by the post-processor.
const FAMILIES = {
  llama3: {
    before: [],
    after: ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
    regex: LLAMA3_REGEX,
    bos: '<|begin_of_text|>',
    config: { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', clean_up_tokenization_spaces: true, model_input_names: ['input_ids', 'attention_mask'], model_max_length: 131072, tokenizer_class: 'PreTrainedTokenizerFast' },
    pad: '<|end_of_text|>',
  },
  mistral: {
    before: ['<unk>', '<s>', '</s>'],
    after: [],
    regex: null,
    bos: '<s>',
    config: { add_bos_token: true, add_eos_token: false, bos_token: '<s>', clean_up_tokenization_spaces: false, eos_token: '</s>', legacy: false, model_max_length: 32768, pad_token: null, sp_model_kwargs: {}, spaces_between_special_tokens: false, tokenizer_class: 'LlamaTokenizer', unk_token: '<unk>', use_default_system_prompt: false },
    pad: '</s>',
  },
  qwen: {
    before: [],
    after: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
    regex: QWEN2_REGEX,
    bos: null,
    config: { bos_token: null, clean_up_tokenization_spaces: false, eos_token: '<|im_end|>', errors: 'replace', model_max_length: 32768, pad_token: '<|endoftext|>', split_special_tokens: false, tokenizer_class: 'Qwen2Tokenizer', unk_token: null },
    pad: '<|endoftext|>',
  },
  gemma: {
    before: ['<pad>', '<eos>', '<bos>', '<unk>'],
    after: ['<start_of_turn>', '<end_of_turn>'],
    regex: null,
    bos: '<bos>',
    config: { add_bos_token: true, add_eos_token: false, bos_token: '<bos>', clean_up_tokenization_spaces: false, eos_token: '<eos>', model_max_length: 32768, pad_token: '<pad>', spaces_between_special_tokens: false, tokenizer_class: 'GemmaTokenizer', unk_token: '<unk>', use_default_system_prompt: false },
    pad: '<pad>',
  },
  phi3: {
    before: ['<unk>', '<s>', '</s>'],
    after: ['<|endoftext|>', '<|assistant|>', '<|end|>', '<|user|>', '<|system|>'],
    regex: null,
    bos: null,
    config: { add_bos_token: false, add_eos_token: false, bos_token: '<s>', clean_up_tokenization_spaces: false, eos_token: '<|endoftext|>', legacy: false, model_max_length: 4096, pad_token: '<|endoftext|>', padding_side: 'left', sp_model_kwargs: {}, tokenizer_class: 'LlamaTokenizer', unk_token: '<unk>', use_default_system_prompt: false },
    pad: '<|endoftext|>',
  },
  gpt2: {
    before: [],
    after: ['<|endoftext|>'],
    regex: null,
    bos: null,
    config: { add_prefix_space: false, bos_token: '<|endoftext|>', clean_up_tokenization_spaces: true, eos_token: '<|endoftext|>', errors: 'replace', model_max_length: 1024, pad_token: null, tokenizer_class: 'GPT2Tokenizer', unk_token: '<|endoftext|>' },
    pad: '<|endoftext|>',
  },
};

const SHORT = 'Hello world!';
const MEDIUM = 'The café serves crème brûlée.';
const LONG = 'Attention is all you need, they said.';
const BATCH = ['Hi!', 'The weather today is sunny.'];
const CHAT = [{ role: 'user', content: 'What is attention?' }];

// Checkpoint folders: tokenizer, chat template (if any), and whether prompt 2 is a rendered chat.
export const CHECKPOINTS = {
  llama: { tokenizer: 'llama3', template: 'llama3' },
  'llama3-scaled': { tokenizer: 'llama3', template: 'llama3' },
  mistral: { tokenizer: 'mistral', template: 'mistral' },
  qwen2: { tokenizer: 'qwen', template: 'qwen2' },
  qwen3: { tokenizer: 'qwen', template: 'qwen3', templateArgs: { enable_thinking: false } },
  gemma3: { tokenizer: 'gemma', template: 'gemma' },
  gpt2: { tokenizer: 'gpt2' },
  'gpt2-noprefix': { tokenizer: 'gpt2' },
  phi3: { tokenizer: 'phi3', template: 'phi3' },
};

function trainMerges(scratch) {
  const dir = mkdtempSync(join(tmpdir(), 'lm-corpus-'));
  const file = join(dir, 'corpus.txt');
  writeFileSync(file, CORPUS.join('\n') + '\n');
  try {
    const trainer = new tk.Tokenizer(tk.BPE.empty());
    trainer.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
    trainer.train([file]);
    const path = join(scratch, 'trained.json');
    trainer.save(path, false);
    const model = JSON.parse(readFileSync(path, 'utf8')).model;
    return model.merges.slice(0, BPE_MERGES).map((m) => (Array.isArray(m) ? m : m.split(' ')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function build(name, merges, scratch) {
  const fam = FAMILIES[name];
  const vocab = {};
  for (const t of [...fam.before, ...[...tk.byteLevelAlphabet()].sort(), ...merges.map(([a, b]) => a + b), ...fam.after]) vocab[t] ??= Object.keys(vocab).length;
  const tok = new tk.Tokenizer(tk.BPE.init(vocab, merges, {}));
  tok.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  if (fam.bos) tok.setPostProcessor(tk.templateProcessing(`${fam.bos}:0 $A:0`, `${fam.bos}:0 $A:0 ${fam.bos}:1 $B:1`, [[fam.bos, vocab[fam.bos]]]));
  const special = { singleWord: false, leftStrip: false, rightStrip: false, normalized: false };
  tok.addAddedTokens([...fam.before, ...fam.after].map((t) => new tk.AddedToken(t, true, special)));
  const path = join(scratch, `${name}.json`);
  tok.save(path, false);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  if (fam.regex) {
    json.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: fam.regex }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
  }
  if (!fam.bos) json.post_processor = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true };
  json.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  writeFileSync(path, JSON.stringify(json));
  return tk.Tokenizer.fromFile(path);
}

/** tokenizer_config.json as transformers writes it: added_tokens_decoder first, keys sorted. */
function tokenizerConfigJson(tokenizerJsonText, config, chatTemplate) {
  const added = JSON.parse(tokenizerJsonText).added_tokens;
  const decoder = {};
  for (const t of added) decoder[String(t.id)] = { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special };
  const all = { ...config };
  if (chatTemplate) all.chat_template = chatTemplate;
  const sorted = Object.fromEntries(Object.keys(all).sort().map((k) => [k, all[k]]));
  return JSON.stringify({ added_tokens_decoder: decoder, ...sorted }, null, 2) + '\n';
}

function write(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`${relative(ROOT, path)}: ${Buffer.byteLength(text)} bytes`);
}

async function encode(tokenizer, text, addSpecialTokens) {
  const e = await tokenizer.encode(text, null, { addSpecialTokens });
  return { text, input_ids: e.getIds(), tokens: e.getTokens() };
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'lm-tokenizers-'));
  const retrain = process.argv.includes('--retrain');
  const merges = trainMerges(scratch);
  const files = {};
  for (const name of Object.keys(FAMILIES)) {
    // the committed copy: in the first checkpoint folder that uses this tokenizer
    const committed = join(LM, Object.keys(CHECKPOINTS).find((c) => CHECKPOINTS[c].tokenizer === name), 'tokenizer.json');
    const tok = retrain || !existsSync(committed) ? build(name, merges, scratch) : tk.Tokenizer.fromFile(committed);
    const path = join(scratch, `${name}.saved.json`);
    tok.save(path, true);
    files[name] = readFileSync(path, 'utf8') + '\n';
  }
  rmSync(scratch, { recursive: true, force: true });

  const inputs = { generator: 'tools/lm_tokenize_fixtures.mjs (@anush008/tokenizers: Hugging Face tokenizers, Rust; chat templates rendered by @huggingface/jinja)', checkpoints: {} };
  for (const [name, spec] of Object.entries(CHECKPOINTS)) {
    const fam = FAMILIES[spec.tokenizer];
    const template = spec.template ? TEMPLATES[spec.template] : null;
    const configText = tokenizerConfigJson(files[spec.tokenizer], fam.config, template);
    write(join(LM, name, 'tokenizer.json'), files[spec.tokenizer]);
    write(join(LM, name, 'tokenizer_config.json'), configText);
    const tokenizer = tk.Tokenizer.fromString(files[spec.tokenizer]);
    const vocab = tokenizer.getVocab(true);
    const prompts = [await encode(tokenizer, SHORT, true)];
    if (template) {
      // apply_chat_template(messages, add_generation_prompt=True): the template writes the bos
      // itself, so the rendered text is encoded WITHOUT the post-processor's special tokens.
      const args = { messages: CHAT, add_generation_prompt: true, bos_token: fam.config.bos_token ?? '', eos_token: fam.config.eos_token, ...(spec.templateArgs ?? {}) };
      const text = new Template(template).render(args);
      prompts.push({ ...(await encode(tokenizer, text, false)), chat: { messages: CHAT, add_generation_prompt: true, ...(spec.templateArgs ?? {}) } });
    } else {
      prompts.push(await encode(tokenizer, MEDIUM, true));
    }
    prompts.push(await encode(tokenizer, LONG, true));
    // the batch: encoded one at a time, padded by the library on the left to the longest
    const encs = [];
    for (const t of BATCH) encs.push(await tokenizer.encode(t, null, { addSpecialTokens: true }));
    const longest = Math.max(...encs.map((e) => e.getLength()));
    for (const e of encs) e.pad(longest, { padId: vocab[fam.pad], padToken: fam.pad, padTypeId: 0, direction: 'left' });
    inputs.checkpoints[name] = {
      tokenizer: spec.tokenizer,
      vocab_size: tokenizer.getVocabSize(true),
      special_tokens: Object.fromEntries([...fam.before, ...fam.after].map((t) => [t, vocab[t]])),
      bos_token_id: fam.config.bos_token ? vocab[fam.config.bos_token] : null,
      eos_token_id: vocab[fam.config.eos_token],
      pad_token_id: vocab[fam.pad],
      prompts,
      batch: { texts: BATCH, padding_side: 'left', input_ids: encs.map((e) => e.getIds()), attention_mask: encs.map((e) => e.getAttentionMask()) },
    };
  }
  write(join(LM, 'inputs.json'), JSON.stringify(inputs) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
