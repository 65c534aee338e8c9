package fileserver

const crashChildEnv = "FILESERVER_CRASH_CHILD_DIR"

func crashChild(dir string) {}
