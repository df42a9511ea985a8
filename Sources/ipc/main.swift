print("ipc")
