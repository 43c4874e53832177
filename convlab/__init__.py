"""convlab: convolutions as linear operators in deep learning.

A small package behind a hands-on course. Module map: one idea per module, and the notebooks
(``notebooks/NN_*`` and ``solutions/NN_*``) that import it. ``tests/test_module_map.py``
keeps the notebook lists in step with the notebooks' imports.

- :mod:`convlab.matlab` -- MATLAB/Octave semantics (spdiags, circshift, conv, convmtx,
  convmtx2). Notebooks: 01, 02, 05, 07.
- :mod:`convlab.structured` -- convolution matrices as scipy sparse arrays (Toeplitz,
  circulant, valid). Notebooks: 00, 01, 02, 03, 04, 05.
- :mod:`convlab.fourier` -- circulant eigenvalues and FFT matrix-vector products.
  Notebooks: 02.
- :mod:`convlab.operators` -- the operator layer: ``LinearMap`` (base class), ``aslinearmap``,
  the matrix of a linear map by probing. Notebooks: 04, 07.
- :mod:`convlab.checks` -- adjoint / Taylor / Jacobian-transpose tests, eigenvalue matching.
  Notebooks: 02, 03, 04, 05, 07, 10.
- :mod:`convlab.parametric` -- K(theta) = mat(Q theta) models and their Jacobian products.
  Notebooks: 03, 04, 05.
- :mod:`convlab.conv` -- periodic convolution operators K, K', J, J' by FFT (1D, 2D,
  channels). Notebooks: 04, 05.
- :mod:`convlab.conv_autograd` -- a torch autograd Function for periodic FFT convolution.
  Notebooks: 04.
- :mod:`convlab.pooling` -- stride and average pooling as sparse matrices. Notebooks: 05.
- :mod:`convlab.toeplitz` -- full-convolution and doubly-blocked Toeplitz matrices (lecture
  builders). Notebooks: 06.
- :mod:`convlab.wiener` -- Wiener filters (dense/levinson/gs/cholesky/cg/fft), penalties,
  WienerLoss. Notebooks: 06.
- :mod:`convlab.transposed` -- convolution arithmetic, conv layers as matrices, transposed
  convolution, upsampling. Notebooks: 07, 08, 09.
- :mod:`convlab.representations` -- filter banks + ReLU, reconstruction by the convolution
  theorem. Notebooks: 09.
- :mod:`convlab.data` -- sample images, patches and flips, noise and block corruption,
  PSNR/SSIM. Notebooks: 09, 10.
- :mod:`convlab.models` -- receptive fields, encoder/decoder, DenoisingAutoencoder, the cheat.
  Notebooks: 09, 10.
- :mod:`convlab.train` -- train_denoiser (SGD/Adam on (noisy, clean) pairs), denoise,
  evaluate. Notebooks: 09, 10.
- :mod:`convlab.inverse` -- forward operators with exact adjoints: average pooling, MRI, CT
  (Radon). Notebooks: 10.
- :mod:`convlab.cnns` -- DnCNN, SRCNN, VDSR and U-Net for inverse problems and segmentation.
  Notebooks: 09, 10.
- :mod:`convlab.pretrained` -- the trained models of notebooks 09 and 10: recipes, committed
  weights, manifest (``make weights``). Notebooks: 09, 10.
- :mod:`convlab.grading` -- the graders behind the exercise notebooks.
  Notebooks: 01, 02, 03, 04, 05, 06, 07, 09, 10.
- :mod:`convlab.instructor` -- instructor tooling: generate and execute the exercise
  notebooks. Notebooks: none.
- :mod:`convlab.plotting` -- spy plots, eigenvalue plots. Notebooks: 01, 02, 03, 04, 05, 07.
- :mod:`convlab.widgets` -- ipywidgets explorers and the figures they draw (ipywidgets imported
  lazily). Notebooks: 01, 07.
- :mod:`convlab.device` -- pick CUDA, then MPS, then CPU; TF32 switch and emulation, tolerances
  from the arithmetic. Notebooks: 00, 01, 02, 08.
- :mod:`convlab.gpubench` -- the GPU check: correctness matrix, timing, costs, recorded runs.
  Notebooks: 08.

Submodules are imported on demand: ``from convlab import structured``.
"""

__version__ = "0.1.0"
