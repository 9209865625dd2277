# Mounted as the __init__.py of each library the grading sandbox blocks (sandbox.py):
# importing one fails here, even with the kernel's import blocker removed.
raise ModuleNotFoundError(
    "this library is not available while your notebook is graded: the graded exercises ask "
    "for your own implementation with NumPy (losskit, SciPy, scikit-learn, PyTorch and JAX "
    "cannot be imported here)"
)
