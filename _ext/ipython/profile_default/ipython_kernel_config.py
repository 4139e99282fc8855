# IPython settings for the kernels that execute the book (IPYTHONDIR points here at build time).
c = get_config()  # noqa: F821
# Every figure as PNG (the web page) and PDF (the printed book picks the vector version).
c.InlineBackend.figure_formats = {"png", "pdf"}
c.InlineBackend.rc = {"figure.dpi": 96, "savefig.dpi": 96, "figure.figsize": (6.4, 3.6), "pdf.fonttype": 42}
