//go:build linux

package sysinit

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// ioctls of random(4) (the generic _IOW/_IO encoding, the same on amd64 and arm64).
const (
	rndAddEntropy  = 0x40085203 // _IOW('R', 0x03, int[2])
	rndReseedCrng  = 0x5207     // _IO('R', 0x07)
	bitsPerByte    = 8
	poolInfoHeader = 8 // struct rand_pool_info: int entropy_count; int buf_size; then the bytes
)

// reseedRandom credits entropy to the input pool (RNDADDENTROPY) and makes the kernel reseed its CRNG from
// the pool now (RNDRESEEDCRNG), rather than at its next scheduled reseed.
func reseedRandom(entropy []byte) error {
	fd, err := syscall.Open("/dev/urandom", syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	info := make([]byte, poolInfoHeader+len(entropy))
	binary.LittleEndian.PutUint32(info[0:], uint32(len(entropy)*bitsPerByte))
	binary.LittleEndian.PutUint32(info[4:], uint32(len(entropy)))
	copy(info[poolInfoHeader:], entropy)
	if err := ioctl(fd, rndAddEntropy, unsafe.Pointer(&info[0])); err != nil {
		return err
	}
	return ioctl(fd, rndReseedCrng, nil)
}
