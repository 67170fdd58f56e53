"""Media files shared by the roles that store them (downloader, assembler): what a file is
(``sniff``), whether it plays and what it holds (``probe``), its poster (``poster``), and
``moov`` first for streaming (``faststart``). PyAV, Pillow and NumPy are blocking: callers
run these in a worker thread."""
