package protocol

// Messages of the file operations (feature "fs", PROTOCOL.md "File operations"). Every request names its
// paths (absolute) and optionally the user whose filesystem identity the operation runs with.

// FsRead reads a file: Length bytes (nil: to the end) from Offset, as STDOUT data.
type FsRead struct {
	Type   string `json:"type"`
	Path   string `json:"path"`
	Offset int64  `json:"offset,omitempty"`
	Length *int64 `json:"length,omitempty"`
	User   string `json:"user,omitempty"`
}

// FsWrite writes the STDIN data to a file: atomically (a synced temporary file renamed over Path), or
// appended in place. Mode nil: the old file's mode, else 0644.
type FsWrite struct {
	Type   string `json:"type"`
	Path   string `json:"path"`
	Mode   *int64 `json:"mode,omitempty"`
	Append bool   `json:"append,omitempty"`
	User   string `json:"user,omitempty"`
}

// FsPath is a request that names one path only: fs.list, fs.stat, fs.archive.read and fs.archive.write.
type FsPath struct {
	Type string `json:"type"`
	Path string `json:"path"`
	User string `json:"user,omitempty"`
}

// FsMkdir creates a directory and its parents. Mode nil: 0755.
type FsMkdir struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Mode *int64 `json:"mode,omitempty"`
	User string `json:"user,omitempty"`
}

// FsRemove removes a file, a symlink or an empty directory; with Recursive, a whole tree.
type FsRemove struct {
	Type      string `json:"type"`
	Path      string `json:"path"`
	Recursive bool   `json:"recursive,omitempty"`
	User      string `json:"user,omitempty"`
}

// FsFromTo is a request on two paths: fs.copy and fs.rename.
type FsFromTo struct {
	Type string `json:"type"`
	From string `json:"from"`
	To   string `json:"to"`
	User string `json:"user,omitempty"`
}

// FsSync flushes the filesystem that holds Path (syncfs): what the guest wrote there is on its disk after.
type FsSync struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

// FsDone ends a file operation without a result; Bytes is the data it moved (0 when none).
type FsDone struct {
	Type  string `json:"type"`
	Bytes int64  `json:"bytes"`
}

// FsStatResult answers fs.stat (lstat semantics). Created is omitted when the filesystem has no birth time,
// Target when the path is not a symlink.
type FsStatResult struct {
	Type     string `json:"type"`
	Kind     string `json:"kind"`
	Size     int64  `json:"size"`
	Mode     uint32 `json:"mode"`
	Uid      uint32 `json:"uid"`
	Gid      uint32 `json:"gid"`
	Readonly bool   `json:"readonly"`
	Modified int64  `json:"modified"`
	Created  *int64 `json:"created,omitempty"`
	Target   string `json:"target,omitempty"`
}

// FsEntry is one line of fs.list's output (not a control message).
type FsEntry struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Size     int64  `json:"size"`
	Mode     uint32 `json:"mode"`
	Modified int64  `json:"modified"`
}

// File kinds of FsStatResult and FsEntry.
const (
	FileKindRegular   = "file"
	FileKindDirectory = "directory"
	FileKindSymlink   = "symlink"
	FileKindOther     = "other"
)
