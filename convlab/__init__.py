"""convlab: convolutions as linear operators in deep learning.

A small package behind a hands-on course. Modules (one idea each):

- :mod:`convlab.matlab`     MATLAB/Octave semantics (spdiags, circshift, conv, convmtx, convmtx2)
- :mod:`convlab.structured` convolution matrices as scipy sparse arrays (Toeplitz, circulant, ...)
- :mod:`convlab.fourier`    circulant eigenvalues and FFT matrix-vector products
- :mod:`convlab.checks`     adjoint / Taylor / Jacobian-transpose tests, eigenvalue matching
- :mod:`convlab.parametric` K(theta) = mat(Q theta) models and their Jacobian products
- :mod:`convlab.conv`       periodic convolution operators K, K', J, J' by FFT (1D, 2D, channels)
- :mod:`convlab.conv_autograd` a torch autograd Function for periodic FFT convolution
- :mod:`convlab.pooling`    stride and average pooling as sparse matrices
- :mod:`convlab.toeplitz`   full-convolution and doubly-blocked Toeplitz matrices (lecture builders)
- :mod:`convlab.wiener`     Wiener filters (dense/levinson/cholesky/cg/fft), penalties, WienerLoss
- :mod:`convlab.operators`  the matrix of a linear map by probing; a small operator class
- :mod:`convlab.transposed` convolution arithmetic, conv layers as matrices, transposed convolution
- :mod:`convlab.representations` filter banks + ReLU, reconstruction by the convolution theorem
- :mod:`convlab.data`       sample images, patches and flips, noise and block corruption, PSNR/SSIM
- :mod:`convlab.models`     receptive fields, encoder/decoder, DenoisingAutoencoder, the cheat
- :mod:`convlab.train`      train_denoiser (SGD/Adam on (noisy, clean) pairs), denoise, evaluate
- :mod:`convlab.inverse`    forward operators with exact adjoints: average pooling, MRI, CT (Radon)
- :mod:`convlab.cnns`       DnCNN, SRCNN, VDSR and U-Net for inverse problems and segmentation
- :mod:`convlab.grading`    the graders behind the exercise notebooks
- :mod:`convlab.instructor` instructor tools: exercises/ from solutions/ (nbgrader), run notebooks
- :mod:`convlab.plotting`   spy plots, eigenvalue plots
- :mod:`convlab.widgets`    ipywidgets explorers (ipywidgets imported lazily; also
  :mod:`convlab.widgets_transposed`)
- :mod:`convlab.device`     pick CUDA, then MPS, then CPU

Submodules are imported on demand: ``from convlab import structured``.
"""

__version__ = "0.1.0"
