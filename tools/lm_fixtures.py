"""Tiny random decoder-only language-model checkpoints in the real Hugging Face folder layout, with
expected logits from code we did not write (step 2 of 2; step 1, `node tools/lm_tokenize_fixtures.mjs`,
builds the tokenizers with Hugging Face's Rust tokenizers, renders the chat prompts with
@huggingface/jinja and writes test/fixtures/lm/inputs.json, which this script reads).

Regenerate (Debian's torch 1.13; the `python3` first on PATH may have no torch):
    node tools/lm_tokenize_fixtures.mjs            # tokenizer.json, tokenizer_config.json, inputs.json
    /usr/bin/python3 tools/lm_fixtures.py [--nanogpt PATH/TO/nanoGPT/model.py]
GPT-2's expected outputs come from karpathy/nanoGPT's model.py, loaded at fixture time from a copy
that is NOT committed: by default `git --git-dir=/work/.mirror/karpathy+nanoGPT/repo show HEAD:model.py`
(the snapshot `fetch github:karpathy/nanoGPT` leaves; read at commit 3adf61e154c3fe3fca428ad6bc3818b27a3b8291),
or the file given with --nanogpt (e.g. a `git clone https://github.com/karpathy/nanoGPT`).
Seeded: a second run rewrites every file byte for byte.

test/fixtures/lm/<name>/: config.json (as transformers writes it: indent 2, sorted keys),
generation_config.json, model.safetensors (upstream state_dict names; tied lm_head.weight left out
as save_pretrained does), tokenizer.json + tokenizer_config.json (step 1).
    llama          LlamaForCausalLM: hidden 32, 4 heads, 2 kv heads (GQA), head_dim 8 (explicit),
                   rope_theta 500000, rms_norm_eps 1e-5, untied lm_head, no biases, SiLU GLU MLP (64).
    llama3-scaled  LlamaForCausalLM SmolLM / Llama-3.2-style: rope_scaling llama3 (factor 8,
                   low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 64; with
                   head_dim 16 and theta 500000 the 8 frequencies fall in all three llama3 bands:
                   kept, smoothed, divided by factor), attention_bias and mlp_bias true, tied embeddings;
                   hidden 48, 3 heads, 1 kv head. Stored as BF16 (torch_dtype bfloat16).
    mistral        MistralForCausalLM: sliding_window 8 (prompt 3 and the decode are longer), GQA 4/2,
                   rope_theta 10000, untied. Stored as BF16.
    qwen2          Qwen2ForCausalLM: q/k/v biases, no o_proj bias, tied, rope_theta 1e6,
                   use_sliding_window false.
    qwen3          Qwen3ForCausalLM: q_norm / k_norm (RMSNorm over head_dim, before RoPE), head_dim 16
                   with hidden 32 and 4 heads (q_proj 32 -> 64), tied. Stored as BF16.
    gemma3         Gemma3ForCausalLM (model_type gemma3_text): embeddings x sqrt(hidden) (the scale cast
                   to the embedding dtype, float32 here), RMSNorm (1 + w), GeGLU with gelu_pytorch_tanh,
                   q_norm / k_norm, query_pre_attn_scalar 32 (!= head_dim 16), layer_types
                   [sliding_attention, full_attention] with sliding_window 8 and rope_local_base_freq 10000
                   for the sliding layer (rope_theta 1e6 for the full one), the four norms per layer,
                   final_logit_softcapping / attn_logit_softcapping null (Gemma 3). Stored as BF16.
    gpt2           GPT2LMHeadModel names WITH `transformer.` (Conv1D weights [in, out], fused c_attn,
                   wte / wpe, ln_f, tied head), plus the `attn.bias` (tril, [1, 1, 64, 64]) and
                   `attn.masked_bias` (-1e4) buffers the old checkpoints carry (a loader must ignore them).
    gpt2-noprefix  the same architecture, its own weights, names WITHOUT the prefix (as the hub's gpt2);
                   expected: last-position logits and greedy tokens only.
    phi3           Phi3ForCausalLM: fused qkv_proj ([q; k; v], GQA 4/2) and gate_up_proj ([gate; up]),
                   rope_scaling null, sliding_window 2047 (as Phi-3-mini's config; longer than every
                   prompt), untied. Stored as BF16 (as are llama3-scaled, mistral, qwen3, gemma3; llama,
                   qwen2 and both gpt2 are F32).
The reference runs in float32 on exactly the values stored (BF16 files: rounded, then widened).

test/fixtures/lm/expected.json, per checkpoint (floats: float32 printed with 8 significant digits):
    prompts[i]: text, input_ids (from inputs.json), last_logits (the last prefill position),
                greedy_tokens (20 greedy steps); prompt 2 (the long one, 18-19 tokens, longer than
                the sliding window) also has all_logits [L, V] and steps: [{token, logits}] x 20 where
                step k's logits are the ones token k is the argmax of (step 0: the prefill's last
                position). Decoding: KV cache (past keys/values concatenated as DynamicCache does),
                checked against re-running the full sequence every step (the max |difference| is
                recorded as decode_check). GPT-2: nanoGPT re-runs the full sequence (it has no cache).
    batch:      2 prompts left-padded with the pad token + attention_mask; position_ids as
                transformers' generate() makes them: attention_mask.cumsum(-1) - 1, pads set to 1;
                the 4D mask adds finfo(float32).min for pads / future (/ outside the window, counted
                in cache slots, so pads count toward it) keys. last_logits per row, 5 greedy steps
                per row (tokens; logits of the last step). Checked: equal to each prompt run alone
                (batch_check). GPT-2: each prompt run alone through nanoGPT (it has no padding mask);
                that is what a correct left-padded batch gives.
    mistral, gemma3: sliding_window_check: max |logit difference| on prompt 2 without the window.
    rope_inv_freq (and gemma3's rope_local_inv_freq, embed_scale): the values the reference used.
    llama only: rope_pairing_check: max |logit difference| when the same weights are run with
                interleaved (GPT-J) pairs instead of rotate-half.

Upstream code followed. transformers files were read as text (read_file on the stored repository: the
repository is too big to fetch whole); the line ranges Lstart-Lend in the comments were counted afterwards
by reading each file at the commit below from its start to past the last cited block (every 16,000-character
page checked against the stored length, a last partial page against the stored text at its end offset); a
range runs from the `def` / `class` line (decorators not included) to the last line of its body:
    LLAMA_SRC   huggingface/transformers@5dd4a63548857797727ae73eeb6a6e886ea02a3e src/transformers/models/llama/modeling_llama.py
    MISTRAL_SRC huggingface/transformers@93e0020c96f1aaf6c380491c943fcf57502c5e19 src/transformers/models/mistral/modeling_mistral.py
    QWEN2_SRC   huggingface/transformers@63bb723747035466e5339aea864b133f709b067d src/transformers/models/qwen2/modeling_qwen2.py
    QWEN3_SRC   huggingface/transformers@9ee3f431c32e9e5f6c0888f6b2b0ca3f6c289dd6 src/transformers/models/qwen3/modeling_qwen3.py
    GEMMA3_SRC  huggingface/transformers@f14d0cbc824e447ef294d8cdc0f8ad4222f3dfee src/transformers/models/gemma3/modeling_gemma3.py
    PHI3_SRC    huggingface/transformers@43c2b4816a6507cb08a18b402c6b053453651daf src/transformers/models/phi3/modeling_phi3.py
    ROPE_SRC    huggingface/transformers@ef46806472a64b0013ed413781e3afed82bfa047 src/transformers/modeling_rope_utils.py
                (_compute_default_rope_parameters with head_dim = getattr(config, 'head_dim', hidden // heads);
                an older stored version, @0044e3b3facff1a1ad60b235c69d5b45beae75a4, used hidden // heads)
    MASK_SRC    huggingface/transformers@2ccc6cae21faaf11631efa5fb9054687ae5dc931 src/transformers/masking_utils.py
                (the only stored version) sliding_window_overlay L81-L90 (kv_idx > q_idx - sliding_window), the
                same window as MISTRAL_SRC MistralModel._prepare_4d_causal_attention_mask_with_cache_position
                L679-L743
    NANOGPT     karpathy/nanoGPT@3adf61e154c3fe3fca428ad6bc3818b27a3b8291 model.py (line numbers given below)
"""
import argparse
import importlib.util
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import torch
from torch import nn

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'lm')
SEED = 0
TRANSFORMERS_VERSION = '4.56.0'  # written into config.json / generation_config.json, as transformers does
NANOGPT_MIRROR = '/work/.mirror/karpathy+nanoGPT/repo'
DECODE_STEPS = 20
BATCH_STEPS = 5
MIN = torch.finfo(torch.float32).min


class Config:
    def __init__(self, d):
        self.__dict__.update(d)


# ---- shared functions (each family's file carries its own identical copy) --------------------------

def rotate_half(x):
    # follows LLAMA_SRC rotate_half L144-L148 (identical in MISTRAL_SRC L60-L64, QWEN2_SRC L50-L54,
    # QWEN3_SRC L86-L90, GEMMA3_SRC L182-L186, PHI3_SRC L77-L81)
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    # follows LLAMA_SRC apply_rotary_pos_emb L151-L175
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def apply_rotary_interleaved(q, k, cos, sin, unsqueeze_dim=1):
    """NOT upstream: GPT-J / Meta-checkpoint pairing (2i, 2i+1) with frequency i, used only to measure
    how much the logits change when a loader pairs dimensions the wrong way (rope_pairing_check)."""
    half = cos.shape[-1] // 2
    c = cos[..., :half].repeat_interleave(2, dim=-1).unsqueeze(unsqueeze_dim)
    s = sin[..., :half].repeat_interleave(2, dim=-1).unsqueeze(unsqueeze_dim)

    def rot(x):
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack((-x2, x1), dim=-1).flatten(-2)
    return q * c + rot(q) * s, k * c + rot(k) * s


def repeat_kv(hidden_states, n_rep):
    # follows LLAMA_SRC repeat_kv L194-L203
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def eager_attention_forward(module, query, key, value, attention_mask, scaling, softcap=None):
    # follows LLAMA_SRC eager_attention_forward L206-L229 (dropout: eval); softcap: GEMMA3_SRC
    # eager_attention_forward L228-L260
    key_states = repeat_kv(key, module.num_key_value_groups)
    value_states = repeat_kv(value, module.num_key_value_groups)
    attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling
    if softcap is not None:
        attn_weights = torch.tanh(attn_weights / softcap) * softcap
    if attention_mask is not None:
        attn_weights = attn_weights + attention_mask[:, :, :, : key_states.shape[-2]]
    attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_output = torch.matmul(attn_weights, value_states)
    return attn_output.transpose(1, 2).contiguous(), attn_weights


def causal_mask_4d(attention_mask, sequence_length, target_length, cache_position, sliding_window=None):
    """follows MISTRAL_SRC MistralModel._prepare_4d_causal_attention_mask_with_cache_position L679-L743
    (LLAMA_SRC's, LlamaModel L691-L746, is the same without the sliding window): finfo.min above the
    diagonal (and at or before cache_position - sliding_window), then finfo.min where the 2D attention_mask
    is 0."""
    causal_mask = torch.full((sequence_length, target_length), fill_value=MIN, dtype=torch.float32)
    diagonal_attend_mask = torch.arange(target_length) > cache_position.reshape(-1, 1)
    if sliding_window is not None:
        diagonal_attend_mask.bitwise_or_(torch.arange(target_length) <= (cache_position.reshape(-1, 1) - sliding_window))
    causal_mask *= diagonal_attend_mask
    causal_mask = causal_mask[None, None, :, :].expand(attention_mask.shape[0], 1, -1, -1).clone()
    mask_length = attention_mask.shape[-1]
    padding_mask = (causal_mask[:, :, :, :mask_length] + attention_mask[:, None, None, :].to(torch.float32)) == 0
    causal_mask[:, :, :, :mask_length] = causal_mask[:, :, :, :mask_length].masked_fill(padding_mask, MIN)
    return causal_mask


# ---- RoPE inverse frequencies ---------------------------------------------------------------------

def compute_default_rope_parameters(config):
    # follows ROPE_SRC _compute_default_rope_parameters L29-L68
    base = config.rope_theta
    partial_rotary_factor = getattr(config, 'partial_rotary_factor', 1.0)
    head_dim = getattr(config, 'head_dim', None) or config.hidden_size // config.num_attention_heads
    dim = int(head_dim * partial_rotary_factor)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    return inv_freq, 1.0


def compute_llama3_parameters(config):
    # follows ROPE_SRC _compute_llama3_parameters L305-L345
    inv_freq, attention_factor = compute_default_rope_parameters(config)
    factor = config.rope_scaling['factor']
    low_freq_factor = config.rope_scaling['low_freq_factor']
    high_freq_factor = config.rope_scaling['high_freq_factor']
    old_context_len = config.rope_scaling['original_max_position_embeddings']
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    inv_freq_llama = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    return inv_freq_llama, attention_factor


ROPE_INIT_FUNCTIONS = {'default': compute_default_rope_parameters, 'llama3': compute_llama3_parameters}  # ROPE_SRC ROPE_INIT_FUNCTIONS L351-L358


class RotaryEmbedding(nn.Module):
    # follows LLAMA_SRC LlamaRotaryEmbedding L83-L141: __init__ L84-L99 / forward L121-L141 (the same class
    # in every family's file)
    def __init__(self, config):
        super().__init__()
        rs = getattr(config, 'rope_scaling', None)
        self.rope_type = rs.get('rope_type', rs.get('type')) if isinstance(rs, dict) else 'default'
        inv_freq, self.attention_scaling = ROPE_INIT_FUNCTIONS[self.rope_type](config)
        self.register_buffer('inv_freq', inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, x, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * self.attention_scaling).to(x.dtype), (emb.sin() * self.attention_scaling).to(x.dtype)


# ---- Llama (and the families that copy it) -----------------------------------------------------------

class LlamaRMSNorm(nn.Module):
    # follows LLAMA_SRC LlamaRMSNorm L60-L77 (= MISTRAL_SRC MistralRMSNorm L200-L217, QWEN2_SRC Qwen2RMSNorm
    # L187-L204, QWEN3_SRC Qwen3RMSNorm L50-L67, PHI3_SRC Phi3RMSNorm L224-L241)
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


ACT2FN = {
    'silu': nn.functional.silu,  # transformers activations.py ACT2CLS silu -> nn.SiLU
    'gelu_pytorch_tanh': lambda x: nn.functional.gelu(x, approximate='tanh'),  # PytorchGELUTanh
}


class LlamaMLP(nn.Module):
    # follows LLAMA_SRC LlamaMLP L178-L191 (bias=config.mlp_bias); MISTRAL/QWEN2/QWEN3 *MLP (MistralMLP L44-L57,
    # Qwen2MLP L34-L47, Qwen3MLP L70-L83) are the same with bias=False; GEMMA3_SRC Gemma3MLP L110-L123 the same
    # with ACT2FN[config.hidden_activation]
    def __init__(self, c):
        super().__init__()
        bias = getattr(c, 'mlp_bias', False)
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=bias)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=bias)
        self.act_fn = ACT2FN[getattr(c, 'hidden_activation', None) or c.hidden_act]

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class Phi3MLP(nn.Module):
    # follows PHI3_SRC Phi3MLP L59-L74: gate_up_proj -> chunk(2): gate first, then up; up * act(gate)
    def __init__(self, c):
        super().__init__()
        self.gate_up_proj = nn.Linear(c.hidden_size, 2 * c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.activation_fn = ACT2FN[c.hidden_act]

    def forward(self, hidden_states):
        up_states = self.gate_up_proj(hidden_states)
        gate, up_states = up_states.chunk(2, dim=-1)
        return self.down_proj(up_states * self.activation_fn(gate))


class LlamaAttention(nn.Module):
    """follows LLAMA_SRC LlamaAttention L232-L305, __init__ L235-L256 / forward L258-L305 (head_dim =
    getattr(config, 'head_dim', ...), scaling head_dim ** -0.5, q/k/v/o bias = config.attention_bias), with
    the family differences:
      mistral  MISTRAL_SRC MistralAttention L132-L197: no biases, sliding_window passed on (the mask carries it)
      qwen2    QWEN2_SRC Qwen2Attention L122-L183: q/k/v bias=True, o_proj bias=False
      qwen3    QWEN3_SRC Qwen3Attention L158-L230: q_norm / k_norm (Qwen3RMSNorm(head_dim)) on [.., heads, head_dim]
               before the transpose and RoPE
      gemma3   GEMMA3_SRC Gemma3Attention L263-L341: scaling query_pre_attn_scalar ** -0.5, q_norm / k_norm
               (Gemma3RMSNorm) after the transpose, before RoPE; softcap attn_logit_softcapping (null)
      phi3     PHI3_SRC Phi3Attention L149-L221: fused qkv_proj split [q | k | v] along the output dim
    The cache: past_key_value.update concatenates along the sequence (DynamicCache)."""

    def __init__(self, c, layer_idx, family):
        super().__init__()
        self.family = family
        self.layer_idx = layer_idx
        self.head_dim = getattr(c, 'head_dim', None) or c.hidden_size // c.num_attention_heads
        self.num_heads = c.num_attention_heads
        self.num_key_value_heads = c.num_key_value_heads
        self.num_key_value_groups = c.num_attention_heads // c.num_key_value_heads
        self.scaling = (c.query_pre_attn_scalar ** -0.5) if family == 'gemma3' else self.head_dim ** -0.5
        self.softcap = getattr(c, 'attn_logit_softcapping', None) if family == 'gemma3' else None
        q_out, kv_out = c.num_attention_heads * self.head_dim, c.num_key_value_heads * self.head_dim
        if family == 'phi3':
            self.o_proj = nn.Linear(q_out, c.hidden_size, bias=False)
            self.qkv_proj = nn.Linear(c.hidden_size, q_out + 2 * kv_out, bias=False)
        else:
            qkv_bias = True if family == 'qwen2' else getattr(c, 'attention_bias', False)
            o_bias = False if family == 'qwen2' else getattr(c, 'attention_bias', False)
            self.q_proj = nn.Linear(c.hidden_size, q_out, bias=qkv_bias)
            self.k_proj = nn.Linear(c.hidden_size, kv_out, bias=qkv_bias)
            self.v_proj = nn.Linear(c.hidden_size, kv_out, bias=qkv_bias)
            self.o_proj = nn.Linear(q_out, c.hidden_size, bias=o_bias)
        if family == 'qwen3':
            self.q_norm = LlamaRMSNorm(self.head_dim, eps=c.rms_norm_eps)
            self.k_norm = LlamaRMSNorm(self.head_dim, eps=c.rms_norm_eps)
        if family == 'gemma3':
            self.q_norm = Gemma3RMSNorm(self.head_dim, eps=c.rms_norm_eps)
            self.k_norm = Gemma3RMSNorm(self.head_dim, eps=c.rms_norm_eps)
        self.rope = apply_rotary_pos_emb

    def forward(self, hidden_states, position_embeddings, attention_mask, cache=None):
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        if self.family == 'phi3':
            qkv = self.qkv_proj(hidden_states)
            query_pos = self.num_heads * self.head_dim
            q = qkv[..., :query_pos]
            k = qkv[..., query_pos: query_pos + self.num_key_value_heads * self.head_dim]
            v = qkv[..., query_pos + self.num_key_value_heads * self.head_dim:]
        else:
            q, k, v = self.q_proj(hidden_states), self.k_proj(hidden_states), self.v_proj(hidden_states)
        if self.family == 'qwen3':
            query_states = self.q_norm(q.view(hidden_shape)).transpose(1, 2)
            key_states = self.k_norm(k.view(hidden_shape)).transpose(1, 2)
        else:
            query_states = q.view(hidden_shape).transpose(1, 2)
            key_states = k.view(hidden_shape).transpose(1, 2)
        value_states = v.view(hidden_shape).transpose(1, 2)
        if self.family == 'gemma3':
            query_states = self.q_norm(query_states)
            key_states = self.k_norm(key_states)
        cos, sin = position_embeddings
        query_states, key_states = self.rope(query_states, key_states, cos, sin)
        if cache is not None:
            if self.layer_idx in cache:
                pk, pv = cache[self.layer_idx]
                key_states = torch.cat([pk, key_states], dim=-2)
                value_states = torch.cat([pv, value_states], dim=-2)
            cache[self.layer_idx] = (key_states, value_states)
        attn_output, _ = eager_attention_forward(self, query_states, key_states, value_states, attention_mask, self.scaling, self.softcap)
        return self.o_proj(attn_output.reshape(*input_shape, -1).contiguous())


class LlamaDecoderLayer(nn.Module):
    # follows LLAMA_SRC LlamaDecoderLayer.forward L319-L359 (pre-norm residual: input_layernorm -> self_attn
    # -> +, post_attention_layernorm -> mlp -> +); MISTRAL/QWEN2/QWEN3 the same (MistralDecoderLayer.forward
    # L229-L269, Qwen2DecoderLayer.forward L220-L251, Qwen3DecoderLayer.forward L246-L277); PHI3_SRC
    # Phi3DecoderLayer L244-L317 (forward L256-L317) the same with resid dropouts (eval) and Phi3MLP
    def __init__(self, c, layer_idx, family):
        super().__init__()
        self.self_attn = LlamaAttention(c, layer_idx, family)
        self.mlp = Phi3MLP(c) if family == 'phi3' else LlamaMLP(c)
        self.input_layernorm = LlamaRMSNorm(c.hidden_size, eps=c.rms_norm_eps)
        self.post_attention_layernorm = LlamaRMSNorm(c.hidden_size, eps=c.rms_norm_eps)
        self.attention_type = c.layer_types[layer_idx] if getattr(c, 'layer_types', None) else 'full_attention'

    def forward(self, hidden_states, position_embeddings, masks, cache=None):
        residual = hidden_states
        hidden_states = self.self_attn(self.input_layernorm(hidden_states), position_embeddings, masks[self.attention_type], cache)
        hidden_states = residual + hidden_states
        residual = hidden_states
        return residual + self.mlp(self.post_attention_layernorm(hidden_states))


class Gemma3RMSNorm(nn.Module):
    # follows GEMMA3_SRC Gemma3RMSNorm L126-L143: x * rsqrt(mean(x^2) + eps) * (1 + w), in float32, then cast back
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        output = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return (output * (1.0 + self.weight.float())).type_as(x)


class Gemma3DecoderLayer(nn.Module):
    # follows GEMMA3_SRC Gemma3DecoderLayer.forward L359-L407: input_layernorm -> attn (local RoPE on sliding layers,
    # global otherwise) -> post_attention_layernorm -> +; pre_feedforward_layernorm -> mlp ->
    # post_feedforward_layernorm -> +
    def __init__(self, c, layer_idx):
        super().__init__()
        self.attention_type = c.layer_types[layer_idx]
        self.is_sliding = self.attention_type == 'sliding_attention'
        self.self_attn = LlamaAttention(c, layer_idx, 'gemma3')
        self.mlp = LlamaMLP(c)
        self.input_layernorm = Gemma3RMSNorm(c.hidden_size, eps=c.rms_norm_eps)
        self.post_attention_layernorm = Gemma3RMSNorm(c.hidden_size, eps=c.rms_norm_eps)
        self.pre_feedforward_layernorm = Gemma3RMSNorm(c.hidden_size, eps=c.rms_norm_eps)
        self.post_feedforward_layernorm = Gemma3RMSNorm(c.hidden_size, eps=c.rms_norm_eps)

    def forward(self, hidden_states, position_embeddings, masks, cache=None):
        pe_global, pe_local = position_embeddings
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = self.self_attn(hidden_states, pe_local if self.is_sliding else pe_global, masks[self.attention_type], cache)
        hidden_states = residual + self.post_attention_layernorm(hidden_states)
        residual = hidden_states
        hidden_states = self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(hidden_states)))
        return residual + hidden_states


class Gemma3TextScaledWordEmbedding(nn.Embedding):
    # follows GEMMA3_SRC Gemma3TextScaledWordEmbedding.forward L106-L107: embedding * embed_scale.to(weight.dtype)
    def __init__(self, num_embeddings, embedding_dim, padding_idx, embed_scale=1.0):
        super().__init__(num_embeddings, embedding_dim, padding_idx)
        self.register_buffer('embed_scale', torch.tensor(embed_scale), persistent=False)

    def forward(self, input_ids):
        return super().forward(input_ids) * self.embed_scale.to(self.weight.dtype)


class DecoderModel(nn.Module):
    """follows LLAMA_SRC LlamaModel.__init__ L496-L510 / forward L519-L623 (embed_tokens, rotary_emb shared
    by the layers, causal mask from _update_causal_mask L625-L688, final norm); MISTRAL_SRC: the mask with
    config.sliding_window (MistralModel._update_causal_mask L595-L676); QWEN2/QWEN3_SRC: a mask per
    layer_types entry (Qwen2Model.forward L330-L399, Qwen3Model.forward L356-L425); GEMMA3_SRC
    Gemma3TextModel L456-L598 (__init__ L459-L483, forward L487-L598): scaled embedding,
    rotary_emb (rope_theta, rope_scaling) and rotary_emb_local (rope_local_base_freq, default rope),
    masks for full_attention and sliding_attention, Gemma3RMSNorm final norm.
    cache: {layer_idx: (k, v)}; the 2D attention_mask covers past + current tokens."""

    def __init__(self, c, family):
        super().__init__()
        self.c = c
        self.family = family
        if family == 'gemma3':
            self.embed_tokens = Gemma3TextScaledWordEmbedding(c.vocab_size, c.hidden_size, c.pad_token_id, embed_scale=c.hidden_size ** 0.5)
            self.layers = nn.ModuleList([Gemma3DecoderLayer(c, i) for i in range(c.num_hidden_layers)])
            self.norm = Gemma3RMSNorm(c.hidden_size, eps=c.rms_norm_eps)
            self.rotary_emb = RotaryEmbedding(c)
            local = Config(dict(c.__dict__, rope_theta=c.rope_local_base_freq, rope_scaling={'rope_type': 'default'}))
            self.rotary_emb_local = RotaryEmbedding(local)
        else:
            self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size, getattr(c, 'pad_token_id', None))
            self.layers = nn.ModuleList([LlamaDecoderLayer(c, i, family) for i in range(c.num_hidden_layers)])
            self.norm = LlamaRMSNorm(c.hidden_size, eps=c.rms_norm_eps)
            self.rotary_emb = RotaryEmbedding(c)

    def forward(self, input_ids, attention_mask, position_ids, cache=None):
        past = cache[0][0].shape[-2] if cache else 0
        inputs_embeds = self.embed_tokens(input_ids)
        seq = input_ids.shape[1]
        cache_position = torch.arange(past, past + seq)
        target = attention_mask.shape[-1]
        window = getattr(self.c, 'sliding_window', None)
        if self.family in ('mistral', 'phi3'):  # one mask, with config.sliding_window (MISTRAL_SRC, PHI3_SRC)
            m = causal_mask_4d(attention_mask, seq, target, cache_position, window)
            masks = {'full_attention': m}
        else:  # QWEN2/QWEN3/GEMMA3_SRC: create_causal_mask / create_sliding_window_causal_mask
            masks = {'full_attention': causal_mask_4d(attention_mask, seq, target, cache_position)}
            masks['sliding_attention'] = causal_mask_4d(attention_mask, seq, target, cache_position, window) if window is not None else masks['full_attention']
        hidden_states = inputs_embeds
        pe = self.rotary_emb(hidden_states, position_ids)
        if self.family == 'gemma3':
            pe = (pe, self.rotary_emb_local(hidden_states, position_ids))
        for layer in self.layers:
            hidden_states = layer(hidden_states, pe, masks, cache)
        return self.norm(hidden_states)


class ForCausalLM(nn.Module):
    # follows LLAMA_SRC LlamaForCausalLM.forward L787-L873: logits = lm_head(hidden_states) (tied: the
    # embedding matrix); GEMMA3_SRC Gemma3ForCausalLM.forward L620-L690: then final_logit_softcapping if set
    # (null here)
    def __init__(self, c, family):
        super().__init__()
        self.c = c
        self.model = DecoderModel(c, family)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids, attention_mask, position_ids, cache=None):
        logits = self.lm_head(self.model(input_ids, attention_mask, position_ids, cache))
        cap = getattr(self.c, 'final_logit_softcapping', None)
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        return logits


# ---- configs, as transformers writes them ---------------------------------------------------------

def base_config(arch, model_type, inp, **kw):
    cfg = {
        'architectures': [arch],
        'attention_dropout': 0.0,
        'bos_token_id': inp['bos_token_id'],
        'eos_token_id': inp['eos_token_id'],
        'hidden_act': 'silu',
        'hidden_size': 32,
        'initializer_range': 0.02,
        'intermediate_size': 64,
        'max_position_embeddings': 512,
        'model_type': model_type,
        'num_attention_heads': 4,
        'num_hidden_layers': 2,
        'num_key_value_heads': 2,
        'rms_norm_eps': 1e-6,
        'rope_scaling': None,
        'rope_theta': 10000.0,
        'tie_word_embeddings': False,
        'torch_dtype': 'float32',
        'transformers_version': TRANSFORMERS_VERSION,
        'use_cache': True,
        'vocab_size': inp['vocab_size'],
    }
    cfg.update(kw)
    return cfg


def configs(inputs):
    L = inputs
    out = {}
    out['llama'] = ('llama', 'F32', base_config('LlamaForCausalLM', 'llama', L['llama'], attention_bias=False, mlp_bias=False, head_dim=8,
                                               rope_theta=500000.0, rms_norm_eps=1e-5, pretraining_tp=1))
    out['llama3-scaled'] = ('llama', 'BF16', base_config(
        'LlamaForCausalLM', 'llama', L['llama3-scaled'], attention_bias=True, mlp_bias=True, head_dim=16, hidden_size=48, intermediate_size=96,
        num_attention_heads=3, num_key_value_heads=1, rope_theta=500000.0, rms_norm_eps=1e-5, pretraining_tp=1, tie_word_embeddings=True,
        rope_scaling={'factor': 8.0, 'high_freq_factor': 4.0, 'low_freq_factor': 1.0, 'original_max_position_embeddings': 64, 'rope_type': 'llama3'},
        torch_dtype='bfloat16'))
    out['mistral'] = ('mistral', 'BF16', base_config('MistralForCausalLM', 'mistral', L['mistral'], head_dim=8, sliding_window=8, rms_norm_eps=1e-5,
                                                  torch_dtype='bfloat16'))
    out['qwen2'] = ('qwen2', 'F32', base_config('Qwen2ForCausalLM', 'qwen2', L['qwen2'], rope_theta=1000000.0, tie_word_embeddings=True,
                                               use_sliding_window=False, sliding_window=None, max_window_layers=2,
                                               layer_types=['full_attention', 'full_attention']))
    out['qwen3'] = ('qwen3', 'BF16', base_config('Qwen3ForCausalLM', 'qwen3', L['qwen3'], head_dim=16, attention_bias=False, rope_theta=1000000.0,
                                                tie_word_embeddings=True, use_sliding_window=False, sliding_window=None, max_window_layers=2,
                                                layer_types=['full_attention', 'full_attention'], torch_dtype='bfloat16'))
    g = base_config('Gemma3ForCausalLM', 'gemma3_text', L['gemma3'], head_dim=16, hidden_size=48, intermediate_size=96, num_key_value_heads=1,
                    query_pre_attn_scalar=32, sliding_window=8, layer_types=['sliding_attention', 'full_attention'], rope_theta=1000000.0,
                    rope_local_base_freq=10000.0, attention_bias=False, final_logit_softcapping=None, attn_logit_softcapping=None,
                    hidden_activation='gelu_pytorch_tanh', pad_token_id=L['gemma3']['pad_token_id'], tie_word_embeddings=True,
                    use_bidirectional_attention=False, torch_dtype='bfloat16')
    del g['hidden_act']
    out['gemma3'] = ('gemma3', 'BF16', g)
    out['phi3'] = ('phi3', 'BF16', base_config('Phi3ForCausalLM', 'phi3', L['phi3'], embd_pdrop=0.0, resid_pdrop=0.0, original_max_position_embeddings=4096,
                                             max_position_embeddings=4096, sliding_window=2047, rms_norm_eps=1e-5, pad_token_id=L['phi3']['pad_token_id'],
                                             torch_dtype='bfloat16'))
    return out


def gpt2_config(inp):
    return {
        'activation_function': 'gelu_new',
        'architectures': ['GPT2LMHeadModel'],
        'attn_pdrop': 0.1,
        'bos_token_id': inp['bos_token_id'],
        'embd_pdrop': 0.1,
        'eos_token_id': inp['eos_token_id'],
        'initializer_range': 0.02,
        'layer_norm_epsilon': 1e-05,
        'model_type': 'gpt2',
        'n_ctx': 64,
        'n_embd': 32,
        'n_head': 4,
        'n_inner': None,
        'n_layer': 2,
        'n_positions': 64,
        'reorder_and_upcast_attn': False,
        'resid_pdrop': 0.1,
        'scale_attn_by_inverse_layer_idx': False,
        'scale_attn_weights': True,
        'summary_activation': None,
        'summary_first_dropout': 0.1,
        'summary_proj_to_labels': True,
        'summary_type': 'cls_index',
        'summary_use_proj': True,
        'task_specific_params': {'text-generation': {'do_sample': True, 'max_length': 50}},
        'torch_dtype': 'float32',
        'transformers_version': TRANSFORMERS_VERSION,
        'use_cache': True,
        'vocab_size': inp['vocab_size'],
    }


def generation_config(name, cfg, inp):
    st = inp['special_tokens']
    g = {'_from_model_config': False, 'bos_token_id': inp['bos_token_id'], 'eos_token_id': inp['eos_token_id'], 'transformers_version': TRANSFORMERS_VERSION}
    if name.startswith('llama'):  # Llama 3 Instruct: stop on <|end_of_text|> or <|eot_id|>
        g.update(eos_token_id=[st['<|end_of_text|>'], st['<|eot_id|>']], do_sample=True, temperature=0.6, top_p=0.9)
    elif name.startswith('qwen'):  # Qwen2 / Qwen3 Instruct
        g.update(bos_token_id=st['<|endoftext|>'], eos_token_id=[st['<|im_end|>'], st['<|endoftext|>']], pad_token_id=st['<|endoftext|>'],
                 do_sample=True, temperature=0.7 if name == 'qwen2' else 0.6, top_k=20, top_p=0.8 if name == 'qwen2' else 0.95)
        if name == 'qwen2':
            g['repetition_penalty'] = 1.05
    elif name == 'gemma3':
        g.update(eos_token_id=[st['<eos>'], st['<end_of_turn>']], pad_token_id=st['<pad>'], cache_implementation='hybrid', top_k=64, top_p=0.95)
    elif name == 'phi3':
        g.update(eos_token_id=[st['<|endoftext|>'], st['<|end|>'], st['<|assistant|>']], pad_token_id=st['<|endoftext|>'])
    elif name.startswith('gpt2'):
        g['_from_model_config'] = True
    return g


# ---- weights -------------------------------------------------------------------------------------

def randomize(model, g):
    """Weights with enough spread that every part shows in the logits: matrices N(0, 0.25^2)
    (0.18 for inputs wider than 48), embeddings N(0, 1), biases N(0, 0.1^2), RMSNorm / LayerNorm weights
    1 + N(0, 0.2^2) (Gemma's (1 + w) norms: N(0, 0.2^2)), LayerNorm biases N(0, 0.1^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.split('.')[-2] if '.' in name else name
            if 'norm' in leaf or leaf.startswith('ln_'):
                if name.endswith('bias'):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                elif isinstance(dict(model.named_modules())[name.rsplit('.', 1)[0]], Gemma3RMSNorm):
                    p.copy_(0.2 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif 'embed' in name or leaf in ('wte', 'wpe'):
                p.copy_(torch.randn(p.shape, generator=g))
            elif name.endswith('bias'):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                std = 0.25 if p.shape[-1] <= 48 else 0.18
                p.copy_(std * torch.randn(p.shape, generator=g))


DTYPES = {'F32': torch.float32, 'BF16': torch.bfloat16}


def tensor_bytes(t, dtype):
    t = t.detach().to(DTYPES[dtype]).contiguous().flatten()
    if dtype == 'F32':
        return struct.pack(f'<{t.numel()}f', *t.tolist())
    return struct.pack(f'<{t.numel()}h', *t.view(torch.int16).tolist())


def write_safetensors(path, tensors):
    """tensors: {name: (tensor, dtype)}. The safetensors format as transformers' save_pretrained writes
    it: __metadata__ {"format": "pt"}, names sorted, header padded with spaces to 8 bytes."""
    header, chunks, at = {'__metadata__': {'format': 'pt'}}, [], 0
    for name in sorted(tensors):
        t, dtype = tensors[name]
        data = tensor_bytes(t, dtype)
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


# ---- output ------------------------------------------------------------------------------------

def r8(t):
    """A float tensor as nested lists of float32 values with 8 significant digits."""
    if t.dim() == 0:
        return float(f'{t.item():.8g}')
    return [r8(x) for x in t] if t.dim() > 1 else [float(f'{v:.8g}') for v in t.tolist()]


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + '\n')


# ---- running the references ---------------------------------------------------------------------

class HfRunner:
    """Runs a ForCausalLM the way transformers' generate() drives it (eager attention)."""

    def __init__(self, model):
        self.model = model

    def full(self, ids):
        ids = torch.tensor([ids])
        mask = torch.ones_like(ids)
        return self.model(ids, mask, torch.arange(ids.shape[1])[None])[0]  # [L, V]

    def greedy(self, ids, steps):
        """KV-cache decoding; returns tokens, each step's logits, and the max |difference| from re-running
        the full sequence at every step."""
        cache = {}
        seq = list(ids)
        logits = self.model(torch.tensor([seq]), torch.ones(1, len(seq), dtype=torch.long), torch.arange(len(seq))[None], cache)[0, -1]
        tokens, step_logits, check = [], [], 0.0
        for _ in range(steps):
            full = self.full(seq)[-1]
            check = max(check, (full - logits).abs().max().item())
            tok = int(torch.argmax(logits))
            tokens.append(tok)
            step_logits.append(logits)
            seq.append(tok)
            logits = self.model(torch.tensor([[tok]]), torch.ones(1, len(seq), dtype=torch.long), torch.tensor([[len(seq) - 1]]), cache)[0, -1]
        return tokens, step_logits, check

    def batch(self, input_ids, attention_mask, steps):
        """Left-padded batch: position_ids from the attention_mask cumsum (pads: 1), KV cache."""
        ids = torch.tensor(input_ids)
        mask = torch.tensor(attention_mask)
        cache = {}
        pos = mask.long().cumsum(-1) - 1
        pos.masked_fill_(mask == 0, 1)
        logits = self.model(ids, mask, pos, cache)[:, -1]
        first = logits
        tokens = [[] for _ in input_ids]
        for s in range(steps):
            nxt = torch.argmax(logits, dim=-1)
            for b in range(len(input_ids)):
                tokens[b].append(int(nxt[b]))
            if s == steps - 1:
                break
            mask = torch.cat([mask, torch.ones(mask.shape[0], 1, dtype=mask.dtype)], dim=1)
            pos = (mask.long().cumsum(-1) - 1)[:, -1:]
            logits = self.model(nxt[:, None], mask, pos, cache)[:, -1]
        return first, tokens, logits


class NanoRunner:
    """nanoGPT's GPT: no cache, no padding mask: greedy decoding re-runs the full sequence."""

    def __init__(self, model):
        self.model = model

    def full(self, ids):
        idx = torch.tensor([ids])
        logits, _ = self.model(idx, targets=torch.zeros_like(idx))  # with targets: logits at every position (NANOGPT model.py L184-L187)
        return logits[0]

    def greedy(self, ids, steps):
        seq, tokens, step_logits = list(ids), [], []
        for _ in range(steps):
            logits = self.model(torch.tensor([seq]))[0][0, -1]  # inference path: last position only (L188-L191)
            tok = int(torch.argmax(logits))
            tokens.append(tok)
            step_logits.append(logits)
            seq.append(tok)
        return tokens, step_logits, None

    def batch(self, input_ids, attention_mask, steps):
        firsts, toks, lasts = [], [], []
        for ids, m in zip(input_ids, attention_mask):
            real = [t for t, a in zip(ids, m) if a]
            t, lg, _ = self.greedy(real, steps)
            firsts.append(lg[0])
            toks.append(t)
            lasts.append(lg[-1])
        return torch.stack(firsts), toks, torch.stack(lasts)


def expected_for(runner, inp, full_set=True, alone=None):
    entry = {'prompts': []}
    with torch.no_grad():
        for i, p in enumerate(inp['prompts']):
            ids = p['input_ids']
            tokens, step_logits, check = runner.greedy(ids, DECODE_STEPS)
            e = {'text': p['text'], 'input_ids': ids, 'last_logits': r8(step_logits[0]), 'greedy_tokens': tokens}
            if 'chat' in p:
                e['chat'] = p['chat']
            if full_set and i == 2:
                e['all_logits'] = r8(runner.full(ids))
                e['steps'] = [{'token': t, 'logits': r8(l)} for t, l in zip(tokens, step_logits)]
                if check is not None:
                    entry['decode_check'] = float(f'{check:.3g}')
            entry['prompts'].append(e)
        if full_set:
            b = inp['batch']
            first, toks, last = runner.batch(b['input_ids'], b['attention_mask'], BATCH_STEPS)
            entry['batch'] = {**b, 'last_logits': r8(first), 'greedy_tokens': toks, 'last_step_logits': r8(last)}
            if alone is not None:  # the same prompts run one at a time, unpadded
                diffs = []
                for row, (ids, m) in enumerate(zip(b['input_ids'], b['attention_mask'])):
                    real = [t for t, a in zip(ids, m) if a]
                    t, lg, _ = alone.greedy(real, BATCH_STEPS)
                    assert t == toks[row], (t, toks[row])
                    diffs += [(lg[0] - first[row]).abs().max().item(), (lg[-1] - last[row]).abs().max().item()]
                entry['batch_check'] = float(f'{max(diffs):.3g}')
    return entry


def load_nanogpt(path):
    if path is None:
        src = subprocess.run(['git', f'--git-dir={NANOGPT_MIRROR}', 'show', 'HEAD:model.py'], check=True, capture_output=True).stdout
        tmp = tempfile.NamedTemporaryFile('wb', suffix='_nanogpt_model.py', delete=False)
        tmp.write(src)
        tmp.close()
        path = tmp.name
    spec = importlib.util.spec_from_file_location('nanogpt_model', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def gpt2_state_dict(c, g):
    """A GPT2LMHeadModel state_dict (transformer.* names, Conv1D weights [in, out]), random."""
    E, P, V = c['n_embd'], c['n_positions'], c['vocab_size']
    sd = {'wte.weight': torch.randn(V, E, generator=g), 'wpe.weight': 0.5 * torch.randn(P, E, generator=g)}
    for i in range(c['n_layer']):
        h = f'h.{i}.'
        for ln in ('ln_1', 'ln_2'):
            sd[h + ln + '.weight'] = 1.0 + 0.2 * torch.randn(E, generator=g)
            sd[h + ln + '.bias'] = 0.1 * torch.randn(E, generator=g)
        for name, (i_, o_) in {'attn.c_attn': (E, 3 * E), 'attn.c_proj': (E, E), 'mlp.c_fc': (E, 4 * E), 'mlp.c_proj': (4 * E, E)}.items():
            sd[h + name + '.weight'] = (0.25 if i_ <= 48 else 0.18) * torch.randn(i_, o_, generator=g)  # Conv1D: [in, out]
            sd[h + name + '.bias'] = 0.1 * torch.randn(o_, generator=g)
    sd['ln_f.weight'] = 1.0 + 0.2 * torch.randn(E, generator=g)
    sd['ln_f.bias'] = 0.1 * torch.randn(E, generator=g)
    return sd


def nanogpt_from_hf(mod, c, sd_hf):
    """Reproduces NANOGPT model.py from_pretrained (L207-L261) with a local state dict: GPTConfig from the
    config, drop the attn.bias / attn.masked_bias buffers, transpose the four Conv1D weights, copy the rest.
    One change: nanoGPT's MLP uses nn.GELU() (erf, L83) while GPT-2 (activation_function gelu_new) uses
    the tanh approximation; it is replaced by nn.GELU(approximate='tanh') (= transformers'
    NewGELUActivation); gelu_erf_check records how much the logits differ with nanoGPT's erf GELU."""
    config = mod.GPTConfig(block_size=c['n_positions'], vocab_size=c['vocab_size'], n_layer=c['n_layer'], n_head=c['n_head'], n_embd=c['n_embd'], dropout=0.0, bias=True)
    model = mod.GPT(config)
    sd = model.state_dict()
    sd_keys = [k for k in sd.keys() if not k.endswith('.attn.bias')]
    sd_keys_hf = [k for k in sd_hf.keys() if not k.endswith('.attn.masked_bias') and not k.endswith('.attn.bias')]
    transposed = ['attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight']
    # GPT2LMHeadModel.state_dict() has lm_head.weight (tied); the saved file does not: add it as from_pretrained's model would
    if 'lm_head.weight' not in sd_keys_hf:
        sd_hf = dict(sd_hf, **{'lm_head.weight': sd_hf['transformer.wte.weight']})
        sd_keys_hf.append('lm_head.weight')
    assert len(sd_keys_hf) == len(sd_keys), f'mismatched keys: {len(sd_keys_hf)} != {len(sd_keys)}'
    with torch.no_grad():
        for k in sd_keys_hf:
            if any(k.endswith(w) for w in transposed):
                assert sd_hf[k].shape[::-1] == sd[k].shape
                sd[k].copy_(sd_hf[k].t())
            else:
                assert sd_hf[k].shape == sd[k].shape
                sd[k].copy_(sd_hf[k])
    model.eval()
    return model


def set_gelu(model, approximate):
    for block in model.transformer.h:
        block.mlp.gelu = nn.GELU(approximate=approximate)


def gpt2_checkpoints(inputs, g, nanogpt_path, expected):
    mod = load_nanogpt(nanogpt_path)
    for name, prefix in (('gpt2', 'transformer.'), ('gpt2-noprefix', '')):
        inp = inputs[name]
        cfg = gpt2_config(inp)
        sd = gpt2_state_dict(cfg, g)
        P = cfg['n_positions']
        stored = {prefix + k: (v, 'F32') for k, v in sd.items()}
        for i in range(cfg['n_layer']):  # the buffers old GPT-2 checkpoints carry
            stored[f'{prefix}h.{i}.attn.bias'] = (torch.tril(torch.ones(P, P)).view(1, 1, P, P), 'F32')
            stored[f'{prefix}h.{i}.attn.masked_bias'] = (torch.tensor(-1e4), 'F32')
        folder = os.path.join(OUT, name)
        write_json(os.path.join(folder, 'config.json'), cfg)
        write_json(os.path.join(folder, 'generation_config.json'), generation_config(name, cfg, inp))
        write_safetensors(os.path.join(folder, 'model.safetensors'), stored)
        model = nanogpt_from_hf(mod, cfg, {'transformer.' + k: v for k, v in sd.items()})
        with torch.no_grad():
            set_gelu(model, 'tanh')
            check_gelu_new(model)
            entry = expected_for(NanoRunner(model), inp, full_set=name == 'gpt2')
            set_gelu(model, 'none')
            ids = inp['prompts'][2]['input_ids']
            erf = NanoRunner(model).full(ids)
            set_gelu(model, 'tanh')
            entry['gelu_erf_check'] = float(f"{(erf - NanoRunner(model).full(ids)).abs().max().item():.3g}")
        entry.update(architecture='GPT2LMHeadModel', safetensors_dtype='F32', reference=f'nanoGPT model.py ({nanogpt_source(nanogpt_path)})',
                     decode='re-running the full sequence every step (nanoGPT has no KV cache)', state_dict_prefix=prefix or None)
        expected['checkpoints'][name] = entry
        report(folder)


def check_gelu_new(model):
    # transformers activations.py NewGELUActivation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (no line
    # range: the only stored activations.py, huggingface/transformers@d60525f3595f8214576d6b8f1c54ac7cd0b5c42c,
    # predates that class; the same formula is its function gelu_new L26-L30)
    x = torch.linspace(-6, 6, 1001)
    new = 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    assert (model.transformer.h[0].mlp.gelu(x) - new).abs().max() < 1e-6


def nanogpt_source(path):
    return path if path else f'{NANOGPT_MIRROR} HEAD = karpathy/nanoGPT@3adf61e154c3fe3fca428ad6bc3818b27a3b8291'


def report(folder):
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(folder) for f in fs)
    print(f'{os.path.relpath(folder, ROOT)}: {size} bytes')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nanogpt', help="path to nanoGPT's model.py (default: the fetched snapshot's HEAD)")
    ap.add_argument('--only', help='comma-separated checkpoint names (default: all)')
    args = ap.parse_args()
    torch.manual_seed(SEED)
    with open(os.path.join(OUT, 'inputs.json'), encoding='utf-8') as f:
        inputs = json.load(f)['checkpoints']
    expected_path = os.path.join(OUT, 'expected.json')
    expected = {
        'generator': f'tools/lm_fixtures.py (torch {torch.__version__}, seed {SEED}); ids from tools/lm_tokenize_fixtures.mjs',
        'checkpoints': {},
    }
    if args.only and os.path.exists(expected_path):
        with open(expected_path, encoding='utf-8') as f:
            expected['checkpoints'] = json.load(f)['checkpoints']
    only = set(args.only.split(',')) if args.only else None

    for idx, (name, (family, dtype, cfg)) in enumerate(configs(inputs).items()):
        g = torch.Generator().manual_seed(SEED + idx)
        if only and name not in only:
            continue
        inp = inputs[name]
        c = Config(cfg)
        model = ForCausalLM(c, family).eval()
        randomize(model, g)
        with torch.no_grad():  # the reference runs on exactly the values stored
            for p in model.state_dict().values():
                p.copy_(p.to(DTYPES[dtype]).to(torch.float32))
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if cfg['tie_word_embeddings']:
            del state['lm_head.weight']  # save_pretrained leaves the tied head out
        folder = os.path.join(OUT, name)
        write_json(os.path.join(folder, 'config.json'), cfg)
        write_json(os.path.join(folder, 'generation_config.json'), generation_config(name, cfg, inp))
        write_safetensors(os.path.join(folder, 'model.safetensors'), {k: (v, dtype) for k, v in state.items()})
        entry = expected_for(HfRunner(model), inp, alone=HfRunner(model))
        entry.update(architecture=cfg['architectures'][0], safetensors_dtype=dtype,
                     decode='KV cache (keys/values concatenated per layer); decode_check = max |difference| from re-running the full sequence')
        rope = model.model.rotary_emb.inv_freq
        entry['rope_inv_freq'] = r8(rope)
        if family == 'gemma3':
            entry['rope_local_inv_freq'] = r8(model.model.rotary_emb_local.inv_freq)
            entry['embed_scale'] = float(f'{torch.tensor(cfg["hidden_size"] ** 0.5).item():.8g}')
        if cfg.get('sliding_window') is not None and family != 'phi3':
            with torch.no_grad():
                ids = inp['prompts'][2]['input_ids']
                windowed = HfRunner(model).full(ids)
                model.model.c.sliding_window = None
                unwindowed = HfRunner(model).full(ids)
                model.model.c.sliding_window = cfg['sliding_window']
            entry['sliding_window_check'] = {'max_abs_logit_difference': float(f'{(windowed - unwindowed).abs().max().item():.3g}'),
                                             'what': f'prompt 2 ({len(ids)} tokens) run without the sliding window ({cfg["sliding_window"]})'}
            print(f"{name} sliding window: max |dlogit| without it {entry['sliding_window_check']['max_abs_logit_difference']}")
        if name == 'llama':
            with torch.no_grad():
                base = [HfRunner(model).full(p['input_ids']) for p in inp['prompts']]
                for layer in model.model.layers:
                    layer.self_attn.rope = apply_rotary_interleaved
                other = [HfRunner(model).full(p['input_ids']) for p in inp['prompts']]
                for layer in model.model.layers:
                    layer.self_attn.rope = apply_rotary_pos_emb
            diff = max((a - b).abs().max().item() for a, b in zip(base, other))
            changed = sum(int((a.argmax(-1) != b.argmax(-1)).sum()) for a, b in zip(base, other))
            total = sum(a.shape[0] for a in base)
            entry['rope_pairing_check'] = {'max_abs_logit_difference': float(f'{diff:.3g}'), 'argmax_changed_positions': changed, 'positions': total,
                                           'what': 'same weights run with interleaved (2i, 2i+1) RoPE pairs instead of rotate-half, all positions of the 3 prompts'}
            print(f"llama rope pairing: max |dlogit| {diff:.3g}, argmax changed at {changed}/{total} positions")
        expected['checkpoints'][name] = entry
        report(folder)

    if not only or only & {'gpt2', 'gpt2-noprefix'}:
        gpt2_checkpoints(inputs, torch.Generator().manual_seed(SEED + 100), args.nanogpt, expected)

    expected['checkpoints'] = {k: expected['checkpoints'][k] for k in inputs if k in expected['checkpoints']}
    write_text(expected_path, json.dumps(expected, separators=(',', ':'), ensure_ascii=False) + '\n')
    print(f'test/fixtures/lm/expected.json: {os.path.getsize(expected_path)} bytes')
    for name, e in expected['checkpoints'].items():
        print(name, {k: e.get(k) for k in ('decode_check', 'batch_check', 'gelu_erf_check')})


if __name__ == '__main__':
    main()
