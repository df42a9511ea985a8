print("fifo-echo: not written yet")
