"""Array kernels shared by the pure homes (modeling, deployment, monitoring): one ROC AUC, one
reading of numbers stored as text. Pure numpy/pandas; below every home that uses them."""
