"""The small language model of the chapter "A language model from scratch", as reusable code.

The chapter ``chapters/language-model.md`` writes its model, training loop and decoding out in
cells, because that is how it teaches. This module packages exactly the same recipe so that later
chapters can rebuild the same trained model without repeating the code:

>>> import primer_lm as lm
>>> trained = lm.train_language_model(steps=100)  # about 12 s on one core
>>> text = lm.generate_text(trained.model, trained.tokenizer, "Applies a", max_new_tokens=20)

A hidden check in the chapter asserts that its model and :class:`GPT` are the same network (the
same ``state_dict`` keys and shapes, the same logits for the same weights). If you change a number
or a line here, change it in the chapter too.

The recipe:

* **Corpus**: the docstrings of the installed PyTorch's own Python files under ``torch/nn`` and
  ``torch/optim``, read with :mod:`ast` in sorted file order (nothing is downloaded). PyTorch is
  distributed under the BSD-3-Clause licence (the ``LICENSE`` file in the ``torch`` wheel's
  ``.dist-info/licenses`` folder). Every tenth file (in sorted order) is held out, so the held-out
  text comes from files the model never saw, not from random snippets of the files it did.
* **Tokenizer**: byte-level byte-pair encoding from Hugging Face ``tokenizers``, trained on the
  training text only, with a vocabulary of :data:`VOCAB_SIZE` tokens.
* **Model**: a decoder-only transformer (:class:`GPT`): token and learned position embeddings,
  pre-norm blocks (LayerNorm, causal multi-head self-attention, LayerNorm, MLP, each inside a
  residual connection), a final LayerNorm, and an output layer tied to the token embedding.
* **Training** (:func:`train`): AdamW with weight decay on the matrices only, a linear warm-up
  then a cosine decay of the learning rate, gradient-norm clipping, random windows of the
  training tokens drawn from a seeded :class:`torch.Generator`.
* **Decoding** (:func:`generate`): greedy, or sampling with a temperature and top-k from a
  seeded generator, with or without a key-value cache (the two give the same tokens).
* **Saving** (:func:`save`, :func:`load`): the weights as ``model.safetensors``, the
  configuration as ``config.json``, the tokenizer as ``tokenizer.json``.

Everything is deterministic: with the same seed, PyTorch build, machine and thread count, two
runs give the same weights, losses and samples.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors.torch import load_model, save_model
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from torch import nn
from torch.nn import functional as F

__all__ = [
    "SEED",
    "SUBPACKAGES",
    "HELD_OUT_EVERY",
    "VOCAB_SIZE",
    "STEPS",
    "BATCH_SIZE",
    "LEARNING_RATE",
    "WEIGHT_DECAY",
    "WARMUP_STEPS",
    "GRAD_CLIP",
    "Corpus",
    "corpus_files",
    "file_docstrings",
    "load_corpus",
    "train_tokenizer",
    "encode",
    "GPTConfig",
    "KVCache",
    "CausalSelfAttention",
    "MLP",
    "Block",
    "GPT",
    "get_batch",
    "make_optimizer",
    "make_scheduler",
    "evaluate",
    "train",
    "generate",
    "generate_text",
    "save",
    "load",
    "TrainedLM",
    "train_language_model",
]

SEED = 0  #: seeds the weight initialisation and the order of the training windows
SUBPACKAGES = ("nn", "optim")  #: the parts of the installed ``torch`` package the corpus reads
HELD_OUT_EVERY = 10  #: every tenth file, in sorted order, is held out
VOCAB_SIZE = 1024  #: byte-pair-encoding vocabulary: 256 bytes plus 768 merges
STEPS = 300  #: optimizer steps of the full recipe
BATCH_SIZE = 8  #: windows of ``block_size + 1`` tokens per step
LEARNING_RATE = 2e-3  #: peak learning rate, reached at the end of the warm-up
WEIGHT_DECAY = 0.1  #: AdamW's decoupled weight decay, applied to the matrices only
WARMUP_STEPS = 30  #: linear warm-up from 1 % of the peak
MIN_LR_FRACTION = 0.1  #: the cosine ends at a tenth of the peak
GRAD_CLIP = 1.0  #: the gradients' global norm is clipped to this


# ---------------------------------------------------------------------------------------------
# Corpus


class Corpus(NamedTuple):
    """What :func:`load_corpus` returns: the two texts and the files each came from."""

    train: str  #: docstrings of the training files, joined by blank lines
    held_out: str  #: docstrings of the held-out files
    train_files: list[str]  #: paths relative to the ``torch`` package, sorted
    held_out_files: list[str]


def corpus_files(subpackages: tuple[str, ...] = SUBPACKAGES) -> list[Path]:
    """The ``.py`` files of the installed ``torch`` package under ``subpackages``, sorted."""
    root = Path(torch.__file__).parent
    return sorted(p for sub in subpackages for p in (root / sub).rglob("*.py"))


def file_docstrings(path: Path) -> list[str]:
    """The docstrings of a module and of its classes and functions, in the order they appear.

    ``ast.get_docstring`` removes the indentation (it calls ``inspect.cleandoc``). Nothing in the
    file is imported or run.
    """
    tree = ast.parse(path.read_text(encoding="utf8"))
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(
        n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)))]
    nodes.sort(key=lambda n: getattr(n, "lineno", 0))
    return [doc for n in nodes if (doc := ast.get_docstring(n))]


def load_corpus(subpackages: tuple[str, ...] = SUBPACKAGES,
                held_out_every: int = HELD_OUT_EVERY) -> Corpus:
    """Read the docstrings of PyTorch's own source and split them by file.

    The files are taken in sorted order; file number ``i`` (counting from 0) is held out when
    ``i % held_out_every == held_out_every - 1``. Files without docstrings are skipped.
    """
    root = Path(torch.__file__).parent
    train_parts, held_parts, train_files, held_files = [], [], [], []
    for i, path in enumerate(corpus_files(subpackages)):
        docs = file_docstrings(path)
        if not docs:
            continue
        text, name = "\n\n".join(docs), path.relative_to(root).as_posix()
        if i % held_out_every == held_out_every - 1:
            held_parts.append(text)
            held_files.append(name)
        else:
            train_parts.append(text)
            train_files.append(name)
    return Corpus("\n\n".join(train_parts), "\n\n".join(held_parts), train_files, held_files)


# ---------------------------------------------------------------------------------------------
# Tokenizer


def train_tokenizer(text: str, vocab_size: int = VOCAB_SIZE) -> Tokenizer:
    """A byte-level BPE tokenizer trained on ``text``: every byte is a token, plus merges.

    The byte-level pre-tokenizer splits the text into words (GPT-2's rule), and maps each byte to
    a printable character, so no text is ever unknown; the decoder maps them back.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([text], trainer=trainer)
    return tokenizer


def encode(tokenizer: Tokenizer, text: str) -> torch.Tensor:
    """The token ids of ``text`` as a 1-D int64 tensor."""
    return torch.tensor(tokenizer.encode(text).ids, dtype=torch.int64)


# ---------------------------------------------------------------------------------------------
# Model


@dataclass
class GPTConfig:
    """The shape of a :class:`GPT`; stored as ``config.json`` next to the weights."""

    vocab_size: int = VOCAB_SIZE
    block_size: int = 128  #: the longest context, in tokens
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128  #: width of the residual stream; a multiple of ``n_head``


class KVCache:
    """Keys and values of the tokens seen so far, one pair of tensors per layer.

    Each tensor has shape ``(batch, n_head, tokens so far, head size)``; ``len(cache)`` is the
    number of tokens it holds.
    """

    def __init__(self, n_layer: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * n_layer
        self.values: list[torch.Tensor | None] = [None] * n_layer

    def __len__(self) -> int:
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append the new tokens' keys and values; return all keys and values of this layer."""
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=2)
            v = torch.cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which each token sees itself and the tokens before it."""

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.n_head, self.layer = config.n_head, layer
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)  # queries, keys, values at once
        self.proj = nn.Linear(config.n_embd, config.n_embd)  # mixes the heads' outputs

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head size): each head attends on its own
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            k, v = cache.update(self.layer, k, v)
        past = k.shape[2] - T  # tokens already in the cache before these
        if past == 0:  # no cache, or an empty one: the usual causal mask
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # new tokens see every cached token and the new ones up to themselves
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    """The position-wise feed-forward network: widen four times, GELU, narrow again."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config, layer)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A decoder-only transformer language model: token ids in, next-token logits out.

    ``model(ids)`` takes ids of shape ``(batch, T)`` with ``T <= block_size`` and returns logits
    of shape ``(batch, T, vocab_size)``: position ``t`` scores the token that follows
    ``ids[:, :t + 1]``. With a :class:`KVCache`, ``ids`` holds only the new tokens, and the cache
    supplies (and receives) the keys and values of the earlier ones.

    Initialisation follows GPT-2: weights from a normal distribution with standard deviation
    0.02, the two projections that write into the residual stream scaled down by
    ``sqrt(2 * n_layer)``, biases zero. The output layer shares its weight with the token
    embedding (weight tying).
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # tied: one matrix, used twice
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        B, T = ids.shape
        start = 0 if cache is None else len(cache)
        if start + T > self.config.block_size:
            raise ValueError(f"{start + T} tokens, but the context holds {self.config.block_size}")
        pos = torch.arange(start, start + T, device=ids.device)
        x = self.tok_emb(ids) + self.pos_emb(pos)
        for block in self.blocks:
            x = block(x, cache)
        return self.head(self.ln_f(x))


# ---------------------------------------------------------------------------------------------
# Training


def get_batch(data: torch.Tensor, batch_size: int, block_size: int,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``data``: inputs, and targets shifted by one token."""
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[s:s + block_size] for s in starts.tolist()])
    y = torch.stack([data[s + 1:s + 1 + block_size] for s in starts.tolist()])
    return x, y


def make_optimizer(model: nn.Module, lr: float = LEARNING_RATE,
                   weight_decay: float = WEIGHT_DECAY) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices (embeddings included), none on biases and norms.

    ``model.parameters()`` lists a tied weight once, so it is in exactly one group.
    """
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def make_scheduler(optimizer: torch.optim.Optimizer, steps: int,
                   warmup_steps: int = WARMUP_STEPS) -> torch.optim.lr_scheduler.LRScheduler:
    """A linear warm-up from 1 % of the peak, then a cosine down to a tenth of it; stepped once
    per optimizer step."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    peak = optimizer.param_groups[0]["lr"]
    warmup = LinearLR(optimizer, start_factor=0.01, total_iters=warmup_steps)
    cosine = CosineAnnealingLR(optimizer, T_max=steps - warmup_steps, eta_min=peak * MIN_LR_FRACTION)
    return SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])


@torch.no_grad()
def evaluate(model: GPT, data: torch.Tensor, max_windows: int | None = None,
             batch_size: int = 32) -> float:
    """Mean cross-entropy (in nats per token) over the non-overlapping windows of ``data``.

    Deterministic: it uses every full window in order, or the first ``max_windows`` of them.
    ``math.exp`` of it is the perplexity. Puts the model in evaluation mode and leaves it there.
    """
    model.eval()
    T = model.config.block_size
    n = (len(data) - 1) // T
    n = n if max_windows is None else min(n, max_windows)
    x = data[: n * T].view(n, T)
    y = data[1: n * T + 1].view(n, T)
    total = 0.0
    for i in range(0, n, batch_size):
        logits = model(x[i:i + batch_size])
        total += F.cross_entropy(logits.flatten(0, 1), y[i:i + batch_size].flatten(),
                                 reduction="sum").item()
    return total / (n * T)


def train(model: GPT, train_ids: torch.Tensor, val_ids: torch.Tensor | None = None, *,
          steps: int = STEPS, batch_size: int = BATCH_SIZE, lr: float = LEARNING_RATE,
          weight_decay: float = WEIGHT_DECAY, warmup_steps: int = WARMUP_STEPS,
          grad_clip: float = GRAD_CLIP, eval_every: int = 25, eval_windows: int | None = 32,
          seed: int = SEED) -> dict:
    """Train ``model`` in place for ``steps`` optimizer steps; return its history.

    The history is a dict of lists: ``"train_loss"`` and ``"lr"`` (one entry per step),
    ``"val_step"`` and ``"val_loss"`` (every ``eval_every`` steps and after the last one, when
    ``val_ids`` is given), the latter on the first ``eval_windows`` windows of ``val_ids``
    (:func:`evaluate`; ``None`` for all of them). The windows are drawn from a :class:`torch.Generator` seeded with
    ``seed``; the weights are whatever ``model`` holds (seed them when you build it).
    ``warmup_steps`` is cut to a tenth of ``steps`` for short runs.
    """
    warmup_steps = min(warmup_steps, max(1, steps // 10))
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(model, lr, weight_decay)
    scheduler = make_scheduler(optimizer, steps, warmup_steps)
    history: dict[str, list] = {"train_loss": [], "lr": [], "val_step": [], "val_loss": []}
    T = model.config.block_size
    for step in range(1, steps + 1):
        model.train()
        x, y = get_batch(train_ids, batch_size, T, generator)
        logits = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        history["lr"].append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
        history["train_loss"].append(loss.item())
        if val_ids is not None and (step % eval_every == 0 or step == steps):
            history["val_step"].append(step)
            history["val_loss"].append(evaluate(model, val_ids, eval_windows))
    model.eval()
    return history


# ---------------------------------------------------------------------------------------------
# Decoding


@torch.no_grad()
def generate(model: GPT, ids: torch.Tensor, max_new_tokens: int, *, temperature: float = 1.0,
             top_k: int | None = None, generator: torch.Generator | None = None,
             use_cache: bool = True) -> torch.Tensor:
    """Extend ``ids`` (shape ``(batch, T)``) by ``max_new_tokens`` tokens; return all of them.

    ``temperature=0`` is greedy decoding (the most likely token every time). Otherwise the
    logits are divided by ``temperature``, cut to the ``top_k`` largest (if given), and a token
    is sampled from their softmax with ``generator``. With ``use_cache`` the prompt is run once
    and each later step feeds only the newest token, its keys and values appended to a
    :class:`KVCache`; without it, every step runs the whole sequence again. Both give the same
    tokens. The prompt and the new tokens together must fit in ``block_size``.
    """
    model.eval()
    if ids.shape[1] + max_new_tokens > model.config.block_size:
        raise ValueError("the prompt and the new tokens must fit in the context (block_size)")
    cache = KVCache(model.config.n_layer) if use_cache else None
    new = ids  # the tokens the model has not read yet
    for _ in range(max_new_tokens):
        logits = model(new if use_cache else ids, cache)[:, -1, :]
        if temperature == 0:
            next_id = logits.argmax(dim=-1, keepdim=True)
        else:
            logits = logits / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            next_id = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
        ids = torch.cat([ids, next_id], dim=1)
        new = next_id
    return ids


def generate_text(model: GPT, tokenizer: Tokenizer, prompt: str, max_new_tokens: int = 60, *,
                  temperature: float = 0.8, top_k: int | None = 50, seed: int = SEED) -> str:
    """Continue ``prompt`` and return the prompt and its continuation as text.

    A convenience around :func:`generate` with a generator seeded by ``seed``.
    """
    ids = encode(tokenizer, prompt).unsqueeze(0)
    generator = torch.Generator().manual_seed(seed)
    out = generate(model, ids, max_new_tokens, temperature=temperature, top_k=top_k,
                   generator=generator)
    return tokenizer.decode(out[0].tolist())


# ---------------------------------------------------------------------------------------------
# Saving and loading


def save(model: GPT, directory: str | Path, tokenizer: Tokenizer | None = None) -> None:
    """Write ``config.json``, ``model.safetensors`` (and ``tokenizer.json``) into ``directory``.

    ``save_model`` stores the tied embedding/output weight once.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(dataclasses.asdict(model.config), indent=2))
    save_model(model, directory / "model.safetensors")
    if tokenizer is not None:
        tokenizer.save(str(directory / "tokenizer.json"))


def load(directory: str | Path) -> tuple[GPT, Tokenizer | None]:
    """Rebuild the model from ``config.json``, load its weights; also the tokenizer if saved."""
    directory = Path(directory)
    config = GPTConfig(**json.loads((directory / "config.json").read_text()))
    model = GPT(config)
    load_model(model, directory / "model.safetensors")
    model.eval()
    tok_path = directory / "tokenizer.json"
    return model, (Tokenizer.from_file(str(tok_path)) if tok_path.exists() else None)


# ---------------------------------------------------------------------------------------------
# The whole recipe


class TrainedLM(NamedTuple):
    """What :func:`train_language_model` returns."""

    model: GPT  #: the trained model, in evaluation mode
    tokenizer: Tokenizer
    corpus: Corpus
    train_ids: torch.Tensor  #: the training text as token ids
    held_out_ids: torch.Tensor  #: the held-out text as token ids
    history: dict  #: what :func:`train` returned


def train_language_model(steps: int = STEPS, seed: int = SEED,
                         config: GPTConfig | None = None) -> TrainedLM:
    """The chapter's recipe end to end: corpus, tokenizer, model, training.

    Seeds PyTorch's global generator with ``seed`` before building the model (this changes
    global state, as ``torch.manual_seed`` always does).
    """
    corpus = load_corpus()
    config = config or GPTConfig()
    tokenizer = train_tokenizer(corpus.train, config.vocab_size)
    train_ids, held_out_ids = encode(tokenizer, corpus.train), encode(tokenizer, corpus.held_out)
    torch.manual_seed(seed)
    model = GPT(config)
    history = train(model, train_ids, held_out_ids, steps=steps, seed=seed)
    return TrainedLM(model, tokenizer, corpus, train_ids, held_out_ids, history)
