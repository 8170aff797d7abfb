import numpy as np, torch, exacthess as eh
from fractions import Fraction
from flint import fmpq, fmpq_mat
from exacthess.models.graph import GraphBuilder
T, d, dk = 3, 2, 2
b = GraphBuilder((T, d))
Q = b.linear(b.input, dk, name="W_Q"); K = b.linear(b.input, dk, name="W_K"); V = b.linear(b.input, d, name="W_V")
S = b.matmul(Q, b.transpose(K), name="scores")
S = b.affine(S, [fmpq(1, 2)] * T, [0] * T, name="scale")
O = b.matmul(S, V, name="attend")
g = b.build(b.add(O, b.input))  # residual, per-token outputs
print(g)
rng = np.random.default_rng(0)
P = [rng.integers(-4, 5, s) / 4 for s in g.param_shapes()]
X = rng.integers(-4, 5, (4, T * d)) / 4; Y = rng.integers(-4, 5, (4, T * d)) / 4
for loss in ["mse", "cross_entropy"] if False else ["mse"]:
    H = eh.hessian(g, params=P, data=(X, Y))
    Xt, Yt = torch.tensor(X).reshape(4, T, d), torch.tensor(Y)
    shapes = [torch.Size(s) for s in g.param_shapes()]
    flat = torch.cat([torch.tensor(p).reshape(-1) for p in P])
    def f(theta):
        off = 0; ws = []
        for s in shapes:
            ws.append(theta[off:off + s.numel()].reshape(s)); off += s.numel()
        wq, wk, wv = ws
        q, k, v = Xt @ wq.T, Xt @ wk.T, Xt @ wv.T
        o = 0.5 * (q @ k.transpose(1, 2)) @ v + Xt
        return 0.5 * ((o.reshape(4, -1) - Yt) ** 2).sum()
    Ht = torch.func.hessian(f)(flat).numpy()
    print("max err", np.abs(np.array(H.H_L, dtype=float) - Ht).max(), np.abs(Ht).max())
    M = H.H_L
    print("rank", eh.verify(g, params=P, data=(X, Y), progress=False).ranks, fmpq_mat(M.shape[0], M.shape[1], list(M.ravel())).rank())
