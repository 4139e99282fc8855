"""The digit classifier of the chapter "Training a digit classifier", as reusable functions.

The chapter ``chapters/training.md`` writes its training loop out inline, line by line, because
that is how it teaches. This module packages exactly the same recipe so that later chapters can
rebuild the same trained network without repeating the code:

>>> from primer_digits import train_digits_model, accuracy
>>> model, X_test, y_test = train_digits_model()
>>> accuracy(model, X_test, y_test) >= 0.95
True

Everything is seeded: with the same ``seed`` (and the same PyTorch build and machine), two calls
return networks whose weights are identical, and identical to the chapter's inline loop. A hidden
check in the chapter asserts this, so the two cannot drift apart. If you change a number here,
change it in the chapter too.

The recipe: scikit-learn's bundled handwritten digits (``sklearn.datasets.load_digits``, 1797
images of 8x8 pixels, nothing downloaded), pixel values divided by 16 so they lie in [0, 1], a
seeded and stratified 75/25 train/test split, a 64-64-10 multilayer perceptron trained with
cross-entropy loss and SGD with momentum on shuffled mini-batches of 128. The learning rate and
the number of epochs were chosen in the chapter on a validation split carved from the training
images; the test split only measures the final model.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

__all__ = [
    "SEED",
    "TEST_SIZE",
    "BATCH_SIZE",
    "LEARNING_RATE",
    "MOMENTUM",
    "EPOCHS",
    "TrainedDigits",
    "load_digits_split",
    "make_model",
    "make_loader",
    "accuracy",
    "train_digits_model",
]

SEED = 0  #: seeds the split, the weight initialisation and the shuffling
TEST_SIZE = 0.25  #: a quarter of the 1797 images (450) is held out for testing
BATCH_SIZE = 128  #: images per optimisation step
LEARNING_RATE = 0.1  #: SGD step size
MOMENTUM = 0.9  #: SGD momentum
EPOCHS = 20  #: full passes over the training set

PIXEL_MAX = 16.0  # the digits' pixels are integers from 0 to 16


class TrainedDigits(NamedTuple):
    """What :func:`train_digits_model` returns; unpacks as ``model, X_test, y_test``."""

    model: nn.Sequential  #: the trained network, left in evaluation mode
    X_test: torch.Tensor  #: test images, shape (450, 64), float32, scaled to [0, 1]
    y_test: torch.Tensor  #: test labels, shape (450,), int64, digits 0 to 9


def load_digits_split(
    seed: int = SEED,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Load the digits, scale them to [0, 1] and split them into training and test tensors.

    Returns ``(X_train, X_test, y_train, y_test)``: images as float32 tensors of shape (n, 64),
    labels as int64 tensors of shape (n,). The split is stratified (each digit keeps its share
    in both parts) and seeded by ``seed``. Nothing is downloaded: the data ship with
    scikit-learn.
    """
    digits = load_digits()
    X = digits.data / PIXEL_MAX
    y = digits.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=seed, stratify=y
    )
    return (
        torch.tensor(X_train, dtype=torch.float32),
        torch.tensor(X_test, dtype=torch.float32),
        torch.tensor(y_train, dtype=torch.int64),
        torch.tensor(y_test, dtype=torch.int64),
    )


def make_model() -> nn.Sequential:
    """The untrained 64-64-10 network: 64 pixels in, one hidden ReLU layer, 10 logits out.

    Its initial weights come from PyTorch's global random generator: call
    ``torch.manual_seed`` first to get the same ones every time.
    """
    return nn.Sequential(
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def make_loader(X_train: torch.Tensor, y_train: torch.Tensor, seed: int = SEED) -> DataLoader:
    """A DataLoader that reshuffles the training set every epoch, from its own seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(X_train, y_train),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=generator,
    )


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of the images in ``X`` whose predicted digit equals ``y``.

    Puts the model in evaluation mode and computes without recording gradients.
    """
    model.eval()
    with torch.no_grad():
        predictions = model(X).argmax(dim=1)
    return (predictions == y).float().mean().item()


def train_digits_model(epochs: int = EPOCHS, seed: int = SEED) -> TrainedDigits:
    """Train the chapter's digit classifier from scratch and return it with the test tensors.

    Seeds PyTorch's global generator with ``seed`` (this changes global state, as
    ``torch.manual_seed`` always does), builds the model, and runs ``epochs`` passes of
    zero_grad / forward / loss / backward / step over shuffled mini-batches. The returned model
    is in evaluation mode. With the defaults, its test accuracy is above 0.95.
    """
    X_train, X_test, y_train, y_test = load_digits_split(seed)
    loader = make_loader(X_train, y_train, seed)

    torch.manual_seed(seed)
    model = make_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)

    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()

    model.eval()
    return TrainedDigits(model, X_test, y_test)
