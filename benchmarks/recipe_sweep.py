"""The sweep that chose aekit's defaults: a standalone PCA-warm-started residual MLP
autoencoder on Fashion-MNIST (CPU, 2 threads), one run per invocation.

Every run appends one JSON line to benchmarks/results/recipe_sweep.jsonl (the
committed file holds the runs BENCHMARKS.md quotes). The final recipe, as run:

  R="--hidden 512,256 --act gelu --batch 512 --lr 2e-3 --sched onecycle --pct 0.3 --epochs 35 --pca cov32"
  for k in 2 8 16 32 64; do python benchmarks/recipe_sweep.py $R --k $k --tag final-bf16; done
  for k in 2 32 64; do python benchmarks/recipe_sweep.py $R --k $k --bf16 0 --epochs 20 --tag final-fp32-20ep; done
"""
import argparse, gzip, json, time, os, sys
import numpy as np
import torch
import torch.nn as nn

D = "/usr/share/datasets/fashion-mnist"

def load(name):
    with gzip.open(os.path.join(D, name), "rb") as f:
        b = f.read()
    return (np.frombuffer(b, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0)

def act_fn(name):
    return {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}[name]

def mlp(sizes, act, ln):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            if ln:
                layers.append(nn.LayerNorm(sizes[i + 1]))
            layers.append(act_fn(act)())
    nn.init.zeros_(layers[-1].weight); nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)

class PCAResAE(nn.Module):
    def __init__(self, n, k, mean, comps, hidden, act, ln, linear=True):
        super().__init__()
        self.linear = linear
        self.register_buffer("mean", mean.clone())
        self.enc_lin = nn.Linear(n, k, bias=False)
        self.dec_lin = nn.Linear(k, n, bias=True)
        with torch.no_grad():
            if linear:
                self.enc_lin.weight.copy_(comps)          # (k,n)
                self.dec_lin.weight.copy_(comps.T)        # (n,k)
                self.dec_lin.bias.copy_(mean)
            else:
                self.enc_lin.weight.zero_(); self.dec_lin.weight.zero_(); self.dec_lin.bias.copy_(mean)
        self.enc_mlp = mlp([n] + hidden + [k], act, ln)
        self.dec_mlp = mlp([k] + hidden[::-1] + [n], act, ln)

    def encode(self, x):
        xc = x - self.mean
        return self.enc_lin(xc) + self.enc_mlp(xc)

    def decode(self, z):
        return self.dec_lin(z) + self.dec_mlp(z)

    def forward(self, x):
        return self.decode(self.encode(x))

def fit_pca(X, k, method):
    t = time.perf_counter()
    mean = X.mean(0)
    if method == "cov64":
        Xc = (X - mean).double()
        C = Xc.T @ Xc
        ev, V = torch.linalg.eigh(C)
        comps = V[:, -k:].flip(1).T.float()
    elif method == "cov32":
        Xc = X - mean
        C = (Xc.T @ Xc).double()
        ev, V = torch.linalg.eigh(C)
        comps = V[:, -k:].flip(1).T.float()
    elif method.startswith("lowrank"):
        n_sub = int(method[7:] or 10000)
        g = torch.Generator().manual_seed(0)
        idx = torch.randperm(X.shape[0], generator=g)[:n_sub]
        U, S, V = torch.pca_lowrank(X[idx], q=min(k + 10, 784), center=True, niter=4)
        comps = V[:, :k].T.contiguous()
        mean = X.mean(0)
    return mean.contiguous(), comps.contiguous(), time.perf_counter() - t

@torch.no_grad()
def evaluate(model, X, clamp=True, bs=5000):
    model.eval()
    tot = 0.0
    for i in range(0, X.shape[0], bs):
        xb = X[i:i + bs]
        out = model(xb)
        if clamp:
            out = out.clamp(0, 1)
        tot += ((out - xb) ** 2).sum().item()
    model.train()
    return tot / X.numel()

def pca_mse(X, mean, comps):
    Xc = X - mean
    R = Xc @ comps.T @ comps
    return ((Xc - R) ** 2).mean().item()

def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--epochs", type=int, default=35)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--act", default="gelu")
    p.add_argument("--hidden", default="512,256")
    p.add_argument("--ln", type=int, default=0)
    p.add_argument("--bf16", type=int, default=1)
    p.add_argument("--sched", default="onecycle")  # onecycle|cosine|const
    p.add_argument("--pct", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ntrain", type=int, default=60000)
    p.add_argument("--pca", default="cov32")
    p.add_argument("--linear", type=int, default=1)
    p.add_argument("--freeze_lin_epochs", type=int, default=0)
    p.add_argument("--clamp", type=int, default=1)
    p.add_argument("--loss_sigmoid", type=int, default=0)
    p.add_argument("--budget", type=float, default=0)  # if >0 stop training after this many seconds
    p.add_argument("--eval_every", type=int, default=0)
    p.add_argument("--tag", default="")
    p.add_argument("--out", default=str(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "recipe_sweep.jsonl")))
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    Xtr = torch.from_numpy(load("train-images-idx3-ubyte.gz"))
    Xte = torch.from_numpy(load("t10k-images-idx3-ubyte.gz"))
    if a.ntrain < Xtr.shape[0]:
        g = torch.Generator().manual_seed(1234)
        Xtr = Xtr[torch.randperm(Xtr.shape[0], generator=g)[:a.ntrain]].contiguous()
    n, d = Xtr.shape
    t0 = time.perf_counter()
    mean, comps, tpca = fit_pca(Xtr, a.k, a.pca)
    hidden = [int(h) for h in a.hidden.split(",")] if a.hidden else []
    model = PCAResAE(d, a.k, mean, comps, hidden, a.act, a.ln, linear=bool(a.linear))
    pca_te = evaluate(model, Xte, clamp=False)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
    steps_per_epoch = (n + a.batch - 1) // a.batch
    total = steps_per_epoch * a.epochs
    if a.sched == "onecycle":
        sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=total, pct_start=a.pct)
    elif a.sched == "cosine":
        sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    else:
        sch = None
    if a.freeze_lin_epochs:
        for q in list(model.enc_lin.parameters()) + list(model.dec_lin.parameters()):
            q.requires_grad_(False)
    ep_times = []; hist = []
    for ep in range(a.epochs):
        te = time.perf_counter()
        if a.freeze_lin_epochs and ep == a.freeze_lin_epochs:
            for q in list(model.enc_lin.parameters()) + list(model.dec_lin.parameters()):
                q.requires_grad_(True)
        perm = torch.randperm(n)
        for i in range(0, n, a.batch):
            xb = Xtr[perm[i:i + a.batch]]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
                out = model(xb)
            out = out.float()
            if a.loss_sigmoid:
                out = torch.sigmoid(out)
            loss = ((out - xb) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sch is not None:
                sch.step()
        ep_times.append(time.perf_counter() - te)
        if a.eval_every and (ep + 1) % a.eval_every == 0:
            hist.append((ep + 1, round(evaluate(model, Xte, clamp=bool(a.clamp)), 6)))
        if a.budget and time.perf_counter() - t0 > a.budget:
            break
    wall = time.perf_counter() - t0
    mse = evaluate(model, Xte, clamp=bool(a.clamp))
    mse_noclamp = evaluate(model, Xte, clamp=False)
    res = dict(vars(a), pca_mse=round(pca_te, 6), mse=round(mse, 6), mse_noclamp=round(mse_noclamp, 6),
               ratio=round(mse / pca_te, 4), wall=round(wall, 2), tpca=round(tpca, 3),
               ep_time=round(float(np.median(ep_times)), 3), epochs_done=len(ep_times), hist=hist,
               load=os.getloadavg()[0], cpu=round(time.process_time(),1))
    print(json.dumps({k: res[k] for k in ["tag", "k", "seed", "epochs", "batch", "lr", "act", "hidden", "ln", "bf16", "sched",
                                          "ntrain", "pca", "pca_mse", "mse", "mse_noclamp", "ratio", "wall", "tpca", "ep_time", "epochs_done", "hist", "load", "cpu"]}))
    sys.stdout.flush()
    with open(a.out, "a") as f:
        f.write(json.dumps(res) + "\n")
    return res

if __name__ == "__main__":
    main()
