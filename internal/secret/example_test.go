package secret_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/payper/payper/internal/secret"
)

func Example() {
	dir, _ := os.MkdirTemp("", "payper-key")
	defer os.RemoveAll(dir)

	key, err := secret.LoadOrCreateKeyFile(filepath.Join(dir, "payper.key"))
	if err != nil {
		panic(err)
	}
	box, err := secret.New(key)
	if err != nil {
		panic(err)
	}
	sealed, _ := box.Seal("shpat_0123", "stores/sto_123/api_token")
	token, _ := box.Open(sealed, "stores/sto_123/api_token")
	_, err = box.Open(sealed, "stores/sto_999/api_token")
	fmt.Println(token, err != nil)
	// Output: shpat_0123 true
}
