"""Renderers of scan results: one module per format, all reading the same :class:`ScanResult`."""
