"""The only package that imports TensorFlow/Keras (lazily): the running environment
(``runtime``) and one module per saved format and Keras generation (``formats``)."""
