package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleChart has the shape of the benchmark's chart: 4 models, 3 configurations, one
// configuration not measured on one model and values on both sides of 1.
func sampleChart() chart {
	return chart{
		Title:  "LLaMA 2 decoding throughput",
		YLabel: "tokens/s (log scale)",
		Groups: []string{"125M", "500M", "1B", "3B"},
		Series: []chartSeries{
			{"MLIR 2 threads", []float64{90, 30, 14, 6}},
			{"MLIR 1 thread", []float64{55, 18, 8, 3.5}},
			{"report baseline", []float64{12.5, math.NaN(), 1.75, 0.76}},
		},
	}
}

// barHeight counts the rows of model group's column, inside the plot area, that hold the
// colour of series: the height of that bar in pixels, 0 when no bar was drawn.
func barHeight(img *image.RGBA, c chart, group, series int) int {
	l := c.layout()
	want := seriesColors[series]
	rows := 0
	for y := l.plotT; y < l.plotB; y++ {
		for x := l.plotL + group*l.groupW; x < l.plotL+(group+1)*l.groupW; x++ {
			if img.RGBAAt(x, y) == want {
				rows++
				break
			}
		}
	}
	return rows
}

func TestRenderBars(t *testing.T) {
	c := sampleChart()
	img := c.render()
	if got := img.Bounds().Size(); got != image.Pt(minW, chartH) {
		t.Fatalf("image size = %v, want %dx%d", got, minW, chartH)
	}
	heights := make([][]int, len(c.Series))
	for j, s := range c.Series {
		heights[j] = make([]int, len(c.Groups))
		for i, v := range s.Values {
			heights[j][i] = barHeight(img, c, i, j)
			if measured := v > 0; measured != (heights[j][i] > 0) {
				t.Errorf("series %q, model %s (value %g): bar height %d", s.Name, c.Groups[i], v, heights[j][i])
			}
		}
	}
	// Any larger value must get a strictly taller bar, within a group and across groups.
	type bar struct {
		v float64
		h int
	}
	var bars []bar
	for j, s := range c.Series {
		for i, v := range s.Values {
			if v > 0 {
				bars = append(bars, bar{v, heights[j][i]})
			}
		}
	}
	for _, a := range bars {
		for _, b := range bars {
			if a.v > b.v && a.h <= b.h {
				t.Errorf("value %g has a bar of %dpx, not taller than %dpx for %g", a.v, a.h, b.h, b.v)
			}
		}
	}
}

func TestRenderEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups []string
		values [][]float64
	}{
		{"single model and series", []string{"1B"}, [][]float64{{14}}},
		{"values below one", []string{"1B", "3B"}, [][]float64{{0.9, 0.5}}},
		{"zero means not measured", []string{"1B", "3B"}, [][]float64{{3, 0}, {2, 1}}},
		{"six series", []string{"1B"}, [][]float64{{1}, {2}, {3}, {4}, {5}, {6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := chart{Title: tc.name, YLabel: "tokens/s", Groups: tc.groups}
			for _, v := range tc.values {
				c.Series = append(c.Series, chartSeries{Name: "s", Values: v})
			}
			img := c.render()
			for j, s := range c.Series {
				for i, v := range s.Values {
					if h := barHeight(img, c, i, j); (v > 0) != (h > 0) {
						t.Errorf("series %d, model %s (value %g): bar height %d", j, c.Groups[i], v, h)
					}
				}
			}
		})
	}
}

func TestInvalidChart(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    chart
		want string // part of the error message
	}{
		{"empty", chart{}, "no groups"},
		{"no series", chart{Groups: []string{"1B"}}, "no series"},
		{"too many series", chart{Groups: []string{"1B"}, Series: make([]chartSeries, 7)}, "7 series"},
		{"short values", chart{Groups: []string{"1B", "3B"}, Series: []chartSeries{{"a", []float64{1}}}}, "1 values for 2 groups"},
		{"negative", chart{Groups: []string{"1B"}, Series: []chartSeries{{"a", []float64{-1}}}}, "log axis"},
		{"infinite", chart{Groups: []string{"1B"}, Series: []chartSeries{{"a", []float64{math.Inf(1)}}}}, "log axis"},
		{"short sections", chart{Groups: []string{"f32", "q8"}, Sections: []string{"1B"}, Series: []chartSeries{{"a", []float64{1, 2}}}}, "1 section labels for 2 groups"},
		{"nothing measured", chart{Groups: []string{"1B"}, Series: []chartSeries{{"a", []float64{math.NaN()}}}}, "no measured values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chart.png")
			err := tc.c.writePNG(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("writePNG error = %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("writePNG left a file behind for an invalid chart (stat: %v)", err)
			}
			// render has no error result; it must still return a full-size picture.
			if got := tc.c.render().Bounds().Size(); got != image.Pt(minW, chartH) {
				t.Errorf("render size = %v", got)
			}
		})
	}
}

func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	var files [2][]byte
	for i := range files {
		path := filepath.Join(dir, "chart.png")
		if err := sampleChart().writePNG(path); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = data
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two renders of the same chart differ")
	}
	img, err := png.Decode(bytes.NewReader(files[0]))
	if err != nil {
		t.Fatalf("written file is not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(minW, chartH) {
		t.Errorf("decoded size = %v", got)
	}
	l := sampleChart().layout()
	// The decoded pixels, not just the header, must carry the bars.
	for j, want := range seriesColors[:len(sampleChart().Series)] {
		found := false
		for y := l.plotT; y < l.plotB && !found; y++ {
			for x := l.plotL; x < l.plotR && !found; x++ {
				found = color.RGBAModel.Convert(img.At(x, y)) == want
			}
		}
		if !found {
			t.Errorf("decoded PNG has no pixel of series %d's colour %v", j, want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lo, hi float64
		want   []float64
	}{
		{"report baseline", 0.76, 12.5, []float64{0.5, 1, 2, 5, 10, 20}},
		{"tick values", 1, 100, []float64{0.5, 1, 2, 5, 10, 20, 50, 100}},
		{"single value", 5, 5, []float64{2, 5}},
		{"wide range falls back to decades", 0.001, 1e6, []float64{1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logTicks(tc.lo, tc.hi); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("logTicks(%g, %g) = %v, want %v", tc.lo, tc.hi, got, tc.want)
			}
		})
	}
}

func TestSigFigs(t *testing.T) {
	for v, want := range map[float64]string{87.34: "87.3", 0.7612: "0.761", 150: "150", 3.5: "3.5", 1234.4: "1234"} {
		if got := sigFigs(v); got != want {
			t.Errorf("sigFigs(%g) = %q, want %q", v, got, want)
		}
	}
}

// mainJobChart has the shape of scripts/reproduce.sh's chart: every model at every weight
// type (the big models' f32 and bf16 skipped), two thread counts and the report's baseline.
func mainJobChart(series int) chart {
	c := chart{Title: "LLaMA 2 decode throughput (AMD EPYC, 2 cores, 24 GiB, 32 MiB L3, linux/amd64)", YLabel: "tokens/s (log scale)"}
	for _, m := range []string{"125M", "500M", "1B", "3B", "7B", "8B", "30B"} {
		for _, w := range []string{"f32", "bf16", "q8/32", "q4/32"} {
			c.Groups, c.Sections = append(c.Groups, w), append(c.Sections, m)
		}
	}
	for j := range series {
		s := chartSeries{Name: fmt.Sprintf("SimpLang MLIR, checked, huge pages, %d thread(s)", j+1)}
		for i := range c.Groups {
			v := 303 / math.Pow(1.25, float64(i)) * float64(j+1) / 2
			if i >= 16 && i%4 < 2 { // 7B and up at f32 and bf16: skipped
				v = math.NaN()
			}
			s.Values = append(s.Values, v)
		}
		c.Series = append(c.Series, s)
	}
	return c
}

// TestChartTextApart: however many groups and series, every label lies on the canvas and
// no two overlap (the canvas grows with the groups, the legend wraps, values too wide for
// their bars stand upright); the bars keep their order by value.
func TestChartTextApart(t *testing.T) {
	for _, series := range []int{1, 3, 6} {
		c := mainJobChart(series)
		cv := c.draw()
		if cv.l.w <= minW {
			t.Errorf("%d series: canvas %d wide for %d groups", series, cv.l.w, len(c.Groups))
		}
		for i, a := range cv.texts {
			if !a.In(cv.Bounds()) {
				t.Errorf("%d series: text at %v leaves the %v canvas", series, a, cv.Bounds())
			}
			for _, b := range cv.texts[i+1:] {
				if a.Overlaps(b) {
					t.Errorf("%d series: texts at %v and %v overlap", series, a, b)
				}
			}
		}
		for j := range c.Series {
			for i := 1; i < len(c.Groups); i++ {
				a, b := c.Series[j].Values[i-1], c.Series[j].Values[i]
				if a > 0 && b > 0 && barHeight(cv.RGBA, c, i-1, j) <= barHeight(cv.RGBA, c, i, j) {
					t.Errorf("%d series: bar %d (%g) not taller than bar %d (%g)", series, i-1, a, i, b)
				}
			}
		}
	}
}
