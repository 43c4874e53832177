"""``python -m convlab.checks``: an adjoint test that passes and one that fails."""

from __future__ import annotations

import numpy as np

from convlab.checks import adjoint_test


def _demo() -> None:
    rng = np.random.default_rng(0)
    n = 64
    k = rng.standard_normal(5)

    def conv(x):  # circular convolution with the stencil k (FFT, norm="backward")
        return np.real(np.fft.ifft(np.fft.fft(x) * np.fft.fft(k, n)))

    def conv_adjoint(y):  # correlation: multiply by conj of the eigenvalues
        return np.real(np.fft.ifft(np.fft.fft(y) * np.conj(np.fft.fft(k, n))))

    def conv_adjoint_wrong(y):  # forgot the conjugate: applies K again instead of K^T
        return conv(y)

    print("circular convolution, adjoint = correlation:")
    good = adjoint_test(conv, conv_adjoint, in_shape=(n,))
    print(" ", good)
    print("circular convolution, 'adjoint' = convolution again (missing conjugate):")
    bad = adjoint_test(conv, conv_adjoint_wrong, in_shape=(n,))
    print(" ", bad)
    print(bad.table())


if __name__ == "__main__":
    _demo()
