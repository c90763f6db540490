import torch

from entropy_rl.core.entropy import (
    entropy_and_log_prob,
    entropy_and_log_prob_from_hidden,
    entropy_from_logits,
)


def _naive(logits, tokens, t):
    logp = torch.log_softmax(logits.double() / t, -1)
    return -(logp.exp() * logp).sum(-1), logp.gather(-1, tokens[..., None]).squeeze(-1)


def test_entropy_from_logits_uniform_and_temperature():
    logits = torch.zeros(2, 3, 17)
    assert torch.allclose(
        entropy_from_logits(logits), torch.full((2, 3), float(torch.log(torch.tensor(17.0))))
    )
    peaked = torch.tensor([[[5.0, 0.0, 0.0]]])
    assert (
        entropy_from_logits(peaked, temperature=0.5)
        < entropy_from_logits(peaked)
        < entropy_from_logits(peaked, 2.0)
    )


def test_chunked_matches_naive_with_grad():
    torch.manual_seed(0)
    logits = (3 * torch.randn(3, 7, 101)).requires_grad_()
    tokens = torch.randint(0, 101, (3, 7))
    ent, lp = entropy_and_log_prob(logits, tokens, temperature=0.7, chunk_size=4)
    ref_e, ref_lp = _naive(logits, tokens, 0.7)
    assert torch.allclose(ent.double(), ref_e, rtol=1e-5) and torch.allclose(lp.double(), ref_lp, rtol=1e-5)
    (ent.sum() + 2 * lp.sum()).backward()
    g = logits.grad.clone()
    logits.grad = None
    e2, lp2 = _naive(logits, tokens, 0.7)
    (e2.sum() + 2 * lp2.sum()).float().backward()
    assert torch.allclose(g, logits.grad, rtol=1e-4, atol=1e-6)


def test_from_hidden_matches_naive_forward_and_backward():
    torch.manual_seed(0)
    hidden = torch.randn(2, 9, 16, requires_grad=True)
    weight = torch.randn(211, 16, requires_grad=True)
    tokens = torch.randint(0, 211, (2, 9))
    ent, lp = entropy_and_log_prob_from_hidden(hidden, weight, tokens, temperature=1.3, chunk_size=5)
    ref_e, ref_lp = _naive(hidden @ weight.t(), tokens, 1.3)
    assert ((ent.double() - ref_e).abs() / ref_e.abs()).max() < 1e-5
    assert ((lp.double() - ref_lp).abs() / ref_lp.abs()).max() < 1e-5
    ge, gl = torch.randn(2, 9), torch.randn(2, 9)
    gh, gw = torch.autograd.grad((ent * ge).sum() + (lp * gl).sum(), (hidden, weight))
    h64, w64 = hidden.double().detach().requires_grad_(), weight.double().detach().requires_grad_()
    e64, l64 = _naive(h64 @ w64.t(), tokens, 1.3)
    rh, rw = torch.autograd.grad((e64 * ge).sum() + (l64 * gl).sum(), (h64, w64))
    assert torch.allclose(gh.double(), rh, rtol=1e-4, atol=1e-5)
    assert torch.allclose(gw.double(), rw, rtol=1e-4, atol=1e-5)


def test_from_hidden_gradcheck_double():
    torch.manual_seed(1)
    hidden = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    tokens = torch.randint(0, 7, (1, 4))

    def f(h, w):
        e, lp = entropy_and_log_prob_from_hidden(h.unsqueeze(0), w, tokens, 0.9, chunk_size=3)
        return e.double(), lp.double()

    # forward runs in fp32 internally, so use a loose tolerance
    assert torch.autograd.gradcheck(f, (hidden, weight), eps=1e-3, atol=5e-3, rtol=5e-3)


def test_from_hidden_under_bf16_autocast():
    """bf16 hidden states from an autocast region with an fp32 weight (the GPU training case)."""
    torch.manual_seed(2)
    h = torch.randn(2, 5, 16, requires_grad=True)
    w = torch.randn(50, 16, requires_grad=True)
    tok = torch.randint(0, 50, (2, 5))
    lin = torch.nn.Linear(16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hh = lin(h)
        assert hh.dtype == torch.bfloat16
        e, lp = entropy_and_log_prob_from_hidden(hh, w, tok, chunk_size=3)
    (e.sum() + lp.sum()).backward()
    ref_e, ref_lp = _naive(hh.detach().float() @ w.detach().t(), tok, 1.0)
    assert torch.allclose(e.double(), ref_e, rtol=2e-2, atol=2e-2)  # bf16 matmul
    assert torch.isfinite(h.grad).all() and torch.isfinite(w.grad).all() and w.grad.dtype == torch.float32
