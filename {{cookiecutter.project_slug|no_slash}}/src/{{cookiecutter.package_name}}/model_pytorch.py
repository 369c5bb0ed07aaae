"""The model: a small multi-layer perceptron in PyTorch, saved as a safetensors state dict.

One output per class (softmax and cross-entropy) for classification, one value (mean squared
error on the standardised target) for regression. The input standardisation, and the target's
for regression, live in the state dict as buffers, so the weights file is the whole model, and
the architecture is read back from the tensor shapes: loading needs no config, no pickle. `load`
is the project's loader (`loader` in [tool.weightline]): it gives an object with `predict` and,
for classes, `predict_proba`, as weightline's loader contract asks.
"""

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn
from weightline import Signature, load_arrays, save_arrays

from .config import Task

FRAMEWORK = "pytorch"


class Network(nn.Module):
    """Standardise, then Linear+ReLU(+Dropout) blocks, then `outputs` raw values per row."""

    def __init__(
        self, n_features: int, hidden_sizes: list[int], outputs: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.register_buffer("target_mean", torch.zeros(1))  # regression only: y's mean ...
        self.register_buffer("target_scale", torch.ones(1))  # ... and standard deviation
        sizes = [n_features, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        self.out = nn.Linear(sizes[-1], outputs)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = (features - self.mean) / self.scale
        for layer in self.hidden:
            x = self.dropout(torch.relu(layer(x)))
        return self.out(x)

    @torch.no_grad()
    def outputs(self, features: np.ndarray) -> torch.Tensor:
        self.eval()
        return self(torch.from_numpy(np.asarray(features, dtype=np.float32)))


@dataclass
class Classifier:
    network: Network

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Each class's probability, one column per class, in the signature's class order."""
        return torch.softmax(self.network.outputs(features).double(), dim=1).numpy()

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The most probable class's number (0..k-1) for each row."""
        return self.predict_proba(features).argmax(axis=1)


@dataclass
class Regressor:
    network: Network

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The predicted value for each row."""
        net = self.network
        values = net.outputs(features)[:, 0] * net.target_scale + net.target_mean
        return values.double().numpy()


def fit(features: np.ndarray, target: np.ndarray, cfg: DictConfig) -> Classifier | Regressor:
    """Train on class numbers (classification) or values (regression), on the CPU with a fixed
    seed and one thread, so a re-run gives identical weights."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    try:
        regression = cfg.data.task == Task.regression
        x = torch.from_numpy(np.asarray(features, dtype=np.float32))
        if regression:
            y = torch.from_numpy(np.asarray(target, dtype=np.float32))
            outputs, loss_fn = 1, nn.MSELoss()
        else:
            y = torch.from_numpy(np.asarray(target, dtype=np.int64))
            outputs, loss_fn = int(y.max()) + 1, nn.CrossEntropyLoss()
        network = Network(x.shape[1], list(cfg.model.hidden_sizes), outputs, cfg.model.dropout)
        network.mean.copy_(x.mean(dim=0))
        network.scale.copy_(x.std(dim=0, unbiased=False).clamp_min(1e-12))
        if regression:  # learn the standardised target: one learning rate suits any scale
            network.target_mean.fill_(y.mean())
            network.target_scale.fill_(y.std(unbiased=False).clamp_min(1e-12))
            y = ((y - network.target_mean) / network.target_scale).unsqueeze(1)
        optimiser = torch.optim.AdamW(
            network.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay
        )
        order = torch.Generator().manual_seed(cfg.seed)
        network.train()
        for _ in range(cfg.train.epochs):
            for batch in torch.randperm(len(x), generator=order).split(cfg.train.batch_size):
                optimiser.zero_grad()
                loss_fn(network(x[batch]), y[batch]).backward()
                optimiser.step()
        network.eval()
        return Regressor(network) if regression else Classifier(network)
    finally:
        torch.set_num_threads(threads)


def save(model: Classifier | Regressor, path: Path, metadata: dict[str, str]) -> None:
    """Write the state dict as safetensors (C-ordered by weightline.save_arrays)."""
    state = model.network.state_dict()
    arrays = {name: tensor.detach().cpu().numpy() for name, tensor in state.items()}
    save_arrays(arrays, path, metadata)


def load(path: Path) -> Classifier | Regressor:
    """Rebuild the network from the tensor shapes in a file written by `save`."""
    arrays, metadata = load_arrays(path)
    state = {name: torch.from_numpy(array) for name, array in arrays.items()}
    n_hidden = sum(1 for name in state if name.startswith("hidden.") and name.endswith(".weight"))
    hidden_sizes = [state[f"hidden.{i}.weight"].shape[0] for i in range(n_hidden)]
    network = Network(state["mean"].shape[0], hidden_sizes, state["out.weight"].shape[0])
    network.load_state_dict(state)
    network.eval()
    signature = Signature.from_metadata(metadata)
    return Regressor(network) if signature and not signature.is_classifier else Classifier(network)
