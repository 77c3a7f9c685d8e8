#include <cmath>

namespace geo {

// Circle is a round shape.
class Circle {
 public:
  explicit Circle(double r) : r_(r) {}
  double Area() const;

 private:
  double r_;
};

double Circle::Area() const { return M_PI * r_ * r_; }

}  // namespace geo
